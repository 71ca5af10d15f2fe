"""One MQTT connection on paho-mqtt, driven by the asyncio event loop, owning its reconnection.

paho's network loop is not run in a thread. The socket is registered with the
event loop (`add_reader`); paho parses packets and calls back on the loop
thread, so an inbound message reaches the flow without a thread hop, and what
paho queues to send is flushed once per loop iteration (see `sock.py`). The only
paho call that blocks, `reconnect()` (DNS, TCP connect, TLS handshake, bounded
by `connect_timeout`), runs in a worker thread while nothing else uses the client.

    await connect()            first connection: a refused or unreachable broker
                               raises ConnectorError at once (a bad URL shows at deploy)
    handler.ready(client, sp)  after every CONNACK: subscribe again, and so on
    connection lost            publishes awaiting PUBACK fail with NotConnected,
                               `handler.lost()` runs, and one task reconnects with
                               exponential backoff and jitter, logging each step
    await close()              DISCONNECT; no reconnect

paho's own reconnect (loop_forever / loop_start) is never used: this class is the
one owner of reconnection. `generation` counts connections and `session` counts
broker sessions, so a subscriber never acks a packet id on a connection it did
not arrive on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import struct
import threading
from collections import deque
from enum import StrEnum
from typing import Any, NamedTuple, Protocol

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from connectors.mqtt.convert import (
    Inbound,
    PackedProperties,
    decode_publish,
    encode_ack,
    encode_publish,
    encoded_topic,
)
from connectors.mqtt.hangup import HangupWatch
from connectors.mqtt.paho_private import MalformedPacket, PahoClient
from connectors.mqtt.settings import Settings
from connectors.mqtt.sock import BufferedSocket, MalformedStream
from flowengine.plugin import Backoff, ConnectorError, DeliveryFailed, NotConnected

log = logging.getLogger("flowengine.mqtt")

_PUBACK, _PUBREC, _PUBCOMP = 0x40, 0x50, 0x70  # fixed header bytes of the acknowledgements we send

MISC_INTERVAL = 1.0  # seconds between keepalive checks and PUBACK deadline sweeps
PACKETS_PER_WAKE = 1000  # then yield to other tasks; the rest stays buffered
UNSENT_HIGH_WATER = 1 << 20  # QoS 0 publishers wait while more than this is unsent
STABLE_AFTER = 10.0  # a connection that lived this long resets the backoff
RECONNECT = Backoff()


class State(StrEnum):
    NEW = "new"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    CLOSED = "closed"


class Handler(Protocol):
    def message(self, packet: Inbound) -> None:
        """An inbound PUBLISH (on the loop thread). Must not raise."""

    async def ready(self, client: MqttClient, session_present: bool) -> None:
        """After each CONNACK. Raise ConnectorError to fail this connection attempt."""

    def lost(self) -> None:
        """The connection dropped (not called for `close()`)."""


class MqttClient:
    def __init__(self, settings: Settings, label: str, handler: Handler) -> None:
        self.settings = settings
        self.label = label
        self.handler = handler
        self.connected = False
        self.state = State.NEW
        self.generation = 0
        self.session = 0
        self._where = settings.url.masked()
        self._paho = self._make_paho()
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._sock: BufferedSocket | None = None
        self._reading = self._paused = self._writing = self._flush_soon = self._in_connect = False
        self._hangup: HangupWatch | None = None  # while reading is paused (see `hangup.py`)
        self._connack: asyncio.Future[bool] | None = None
        self._confirms: dict[int, tuple[asyncio.Future[None], float]] = {}
        self._pubrecs: set[int] = set()  # inbound QoS 2 packet ids we sent PUBREC for, on this connection
        self._subacks: dict[int, asyncio.Future[int]] = {}
        self._receive_maximum = 65535
        self._backlog: deque[_Outgoing] = deque()
        self._connected = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._closing = asyncio.Event()
        self._reconnector: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        self._misc: asyncio.TimerHandle | None = None
        self._connected_at = 0.0
        self._flaps = 0

    def _make_paho(self) -> PahoClient:
        s = self.settings
        client = PahoClient(
            paho.CallbackAPIVersion.VERSION2,
            client_id=s.client_id,
            clean_session=None if s.v5 else s.clean_start,
            protocol=paho.MQTTv5 if s.v5 else paho.MQTTv311,
            manual_ack=True,
        )
        client.max_inflight_messages_set(0)  # the send window is ours (see `publish`): no paho queue walks
        client.connect_timeout = s.connect_timeout
        if s.url.username is not None:
            client.username_pw_set(s.url.username, s.url.password)
        if s.url.tls:
            client.tls_set_context(ssl.create_default_context())
        client.on_connect = self._on_connect  # type: ignore[assignment]  # paho types the v1 signature
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        if s.v5:
            props = Properties(PacketTypes.CONNECT)
            if s.session_expiry:
                props.SessionExpiryInterval = s.session_expiry
            if s.receive_maximum:
                props.ReceiveMaximum = s.receive_maximum
            client.connect_async(s.url.host, s.url.port, s.keepalive, clean_start=s.clean_start, properties=props)
        else:
            client.connect_async(s.url.host, s.url.port, s.keepalive)
        return client

    @property
    def state(self) -> State:
        return self._state

    @state.setter
    def state(self, value: State) -> None:
        self._state = value
        self.connected = value is State.CONNECTED  # read on every message: a plain attribute

    # --- lifecycle -------------------------------------------------------------
    async def connect(self) -> None:
        """The first connection. Raises ConnectorError with the broker's reason."""
        self._tick()
        try:
            await self._connect_once()
        except BaseException:
            self.state = State.CLOSED
            self._stop_ticking()
            raise

    async def close(self, timeout: float = 2.0) -> None:
        """Send DISCONNECT (acks queued before it go out first) and stop reconnecting.
        Safe to call twice or to cancel: the closing itself is shielded."""
        if self._closer is None:
            if self.state is State.CLOSED and self._sock is None:
                return  # the first connect failed: nothing is open
            self._closer = self._loop.create_task(self._close(timeout))
        await asyncio.shield(self._closer)

    async def _close(self, timeout: float) -> None:
        was = self.state
        self.state = State.CLOSED
        self._closing.set()
        closed = ConnectorError("the MQTT client was closed")
        for fut in (self._connack, *self._subacks.values()):
            if fut is not None and not fut.done():
                fut.set_exception(closed)
        if self._reconnector is not None:  # an attempt in progress ends by itself: its socket is closed properly
            await asyncio.gather(self._reconnector, return_exceptions=True)
        if was is State.CONNECTED and self._sock is not None:
            self._paho.disconnect()
            deadline = self._loop.time() + timeout
            while self._sock is not None and self._loop.time() < deadline:
                await asyncio.sleep(0.005)
        self._abort()
        self._stop_ticking()
        log.info("%s: MQTT connection to %s closed", self.label, self._where)

    def sever(self) -> None:
        """Cut the TCP connection as a network failure would (for fault tests)."""
        if self._sock is not None:
            self._sock.shutdown()

    async def wait_connected(self, timeout: float) -> bool:
        if not self.connected and self.state is not State.CLOSED:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._connected.wait(), timeout)
        return self.connected

    async def _connect_once(self) -> None:
        self.state = State.CONNECTING
        self._connack = connack = self._loop.create_future()
        self._in_connect = True
        timeout = self.settings.connect_timeout
        try:
            self._paho.drop_out_messages()  # failed already (NotConnected): never resend them
            try:
                await asyncio.to_thread(self._paho.reconnect)
            except (OSError, ValueError) as err:
                if self.state is not State.CLOSED:
                    self.state = State.DISCONNECTED
                raise ConnectorError(f"cannot connect to MQTT broker {self._where}: {_describe(err)}") from None
            self._sock = self._paho.socket()  # type: ignore[assignment]
            if self.state is State.CLOSED:
                raise ConnectorError("closed while connecting")
            self._paused = False  # a pause held the old connection; this one must read its CONNACK
            self._start_reading()
            self._schedule_flush()
            try:
                session_present = await asyncio.wait_for(connack, timeout)
            except TimeoutError:
                raise ConnectorError(f"MQTT broker {self._where} did not answer CONNECT within {timeout:g} s") from None
            await self.handler.ready(self, session_present)
        except BaseException:
            self._abort()
            raise
        finally:
            self._in_connect = False
            if not connack.done():
                connack.cancel()
        self._connected_at = self._loop.time()
        log.info("%s: connected to MQTT broker %s as %s (%s)", self.label, self._where, self.settings.client_id,
                 "session resumed" if session_present else "new session")

    async def _reconnect(self) -> None:
        attempt = self._flaps
        while self.state is not State.CLOSED:
            delay = RECONNECT.delay(attempt)
            log.info("%s: reconnecting to %s in %.1f s (attempt %d)", self.label, self._where, delay, attempt + 1)
            try:
                await asyncio.wait_for(self._closing.wait(), delay)
                return
            except TimeoutError:
                pass
            try:
                await self._connect_once()
                return
            except ConnectorError as err:
                attempt += 1
                log.warning("%s: reconnect failed: %s", self.label, err)

    def _abort(self) -> None:
        """Close the socket now and let paho run its disconnect path (on the loop thread).
        What was read but not handled is dropped: the broker redelivers unacknowledged
        messages, and publishes awaiting a PUBACK fail with NotConnected."""
        sock = self._sock
        if sock is None:
            return
        sock.shutdown()
        if self._paho.socket() is not None:
            self._paho.connection_lost()
        if self._sock is sock:  # paho had already let go of it
            self._on_socket_close(None, None, sock)

    # --- paho callbacks (all on the loop thread) -------------------------------
    def _on_connect(self, _c: Any, _u: Any, flags: paho.ConnectFlags, reason: ReasonCode, props: Properties) -> None:
        connack = self._connack
        if reason.is_failure:
            if connack is not None and not connack.done():
                connack.set_exception(ConnectorError(
                    f"MQTT broker {self._where} refused the connection of client {self.settings.client_id}: {reason}"))
            return
        # Counted here, not in `_connect_once`: messages may follow in the same read.
        self.generation += 1
        self._pubrecs.clear()
        if not flags.session_present:
            self.session += 1
        self._receive_maximum = getattr(props, "ReceiveMaximum", 65535)
        self.state = State.CONNECTED
        self._connected.set()
        if connack is not None and not connack.done():
            connack.set_result(flags.session_present)

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        was = self.state
        self._connected.clear()
        self._drained.set()
        lost = NotConnected(f"connection to {self._where} lost ({reason})")
        for fut, _ in self._confirms.values():
            if not fut.done():
                fut.set_exception(lost)
        self._confirms.clear()
        for waiting in self._backlog:
            if not waiting.confirmed.done():
                waiting.confirmed.set_exception(lost)
        self._backlog.clear()
        for sub in self._subacks.values():
            if not sub.done():
                sub.set_exception(lost)
        self._subacks.clear()
        if self._connack is not None and not self._connack.done():
            self._connack.set_exception(ConnectorError(f"MQTT broker {self._where} closed the connection ({reason})"))
        if was is State.CLOSED:
            return
        self.state = State.DISCONNECTED
        if was is not State.CONNECTED:
            return
        uptime = self._loop.time() - self._connected_at
        self._flaps = 0 if uptime >= STABLE_AFTER else min(self._flaps + 1, 10)
        self.handler.lost()
        if self._in_connect:
            return  # the attempt in progress fails; its caller decides what follows
        log.warning("%s: connection to MQTT broker %s lost (%s)", self.label, self._where, reason)
        if self._reconnector is None or self._reconnector.done():
            self._reconnector = self._loop.create_task(self._reconnect())

    def _on_publish(self, _c: Any, _u: Any, mid: int, reason: ReasonCode, _p: Any) -> None:
        entry = self._confirms.pop(mid, None)
        if entry is None or entry[0].done():
            return  # a QoS 0 write, or one that already timed out
        if reason.is_failure:
            entry[0].set_exception(DeliveryFailed(f"MQTT broker {self._where} refused the message: {reason}"))
        else:
            entry[0].set_result(None)
        self._send_backlog()

    def _on_subscribe(self, _c: Any, _u: Any, mid: int, codes: list[ReasonCode], _p: Any) -> None:
        fut = self._subacks.pop(mid, None)
        if fut is None or fut.done():
            return
        if codes[0].is_failure:
            fut.set_exception(ConnectorError(str(codes[0])))
        else:
            fut.set_result(int(codes[0].value))

    def _on_socket_close(self, _c: Any, _u: Any, sock: Any) -> None:
        if sock is self._sock:
            self._stop_reading()
            self._unwatch_hangup()
            if self._writing and sock is not None:
                self._loop.remove_writer(sock.fileno())
                self._writing = False
            self._sock = None

    def _on_register_write(self, _c: Any, _u: Any, _sock: Any) -> None:
        if threading.get_ident() == self._loop_thread:
            self._schedule_flush()
        else:  # paho's CONNECT, queued from the worker thread in `reconnect()`
            self._loop.call_soon_threadsafe(self._schedule_flush)

    # --- socket I/O on the event loop ------------------------------------------
    def _start_reading(self) -> None:
        sock = self._sock
        if sock is not None and not self._reading and not self._paused:
            self._loop.add_reader(sock.fileno(), self._on_readable)
            self._reading = True
            if sock.pending():
                self._loop.call_soon(self._on_readable)

    def _stop_reading(self) -> None:
        if self._reading and self._sock is not None:
            self._loop.remove_reader(self._sock.fileno())
        self._reading = False

    @property
    def reading_paused(self) -> bool:
        return self._paused

    def pause_reading(self) -> None:
        """Stop taking packets off this connection's socket: the broker (TCP) holds what follows.
        Its end (closed, reset) is still noticed at once (`HangupWatch`). A new connection
        starts reading again: the handler pauses it once more if it is still over its bound."""
        self._paused = True
        self._stop_reading()
        sock = self._sock
        if sock is not None and self._hangup is None and HangupWatch.supported:
            self._hangup = HangupWatch(self._loop, sock.fileno(), self._hung_up)

    def resume_reading(self) -> None:
        if self._paused:  # called as each message settles: usually nothing to do
            self._paused = False
            self._unwatch_hangup()
            self._start_reading()

    def _hung_up(self) -> None:
        """The broker closed or reset the connection while reading was paused."""
        self._hangup = None
        log.debug("%s: connection to %s ended while reading was paused", self.label, self._where)
        self._abort()

    def _unwatch_hangup(self) -> None:
        if self._hangup is not None:
            self._hangup.close()
            self._hangup = None

    def _on_readable(self) -> None:
        sock = self._sock
        if sock is None or self._paused:
            return
        try:
            open_ = sock.fill()
        except OSError as err:
            log.debug("%s: read failed: %s", self.label, err)
            open_ = False
        self._paho.bytes_received()
        if self._dispatch(sock) and not open_ and self._sock is sock:
            self._paho.connection_lost()

    def _dispatch(self, sock: BufferedSocket) -> bool:
        """Handle the whole packets read so far. False when it stopped before the end: reading
        paused, the connection replaced, or PACKETS_PER_WAKE handled (the rest comes next turn,
        so other tasks run in between)."""
        v5, deliver = self.settings.v5, self.handler.message
        for _ in range(PACKETS_PER_WAKE):
            if self._sock is not sock or self._paused:
                return False
            try:
                packet = sock.next_packet()
            except MalformedStream as err:
                log.warning("%s: broken packet from %s (%s); reconnecting", self.label, self._where, err)
                self._paho.connection_lost()
                return False
            if packet is None:
                return True
            header, body = packet
            kind = header >> 4
            if kind == 3:
                try:
                    inbound = decode_publish(header, body, v5)
                except (ValueError, IndexError, struct.error, MalformedPacket) as err:
                    log.warning("%s: broken PUBLISH from %s (%s); reconnecting", self.label, self._where, err)
                    self._paho.connection_lost()
                    return False
                deliver(inbound)  # the PUBACK (QoS 1) or PUBREC (QoS 2) goes out when the flow is done (`ack`)
            elif kind == 4:
                self._puback(body)
            elif kind == 6:
                self._pubrel(body)
            else:
                self._paho.handle(header, body)
        self._loop.call_soon(self._on_readable)
        return False

    def _pubrel(self, body: bytes) -> None:
        """The broker's answer to our PUBREC: complete the QoS 2 exchange. The message went
        through the flow before that PUBREC; one PUBREC'd on an earlier connection (or by
        an earlier run) is completed the same way."""
        mid = (body[0] << 8) | body[1]
        if mid not in self._pubrecs:
            log.info("%s: completed QoS 2 message %d, acknowledged on an earlier connection", self.label, mid)
        self._pubrecs.discard(mid)
        if self._sock is not None:
            self._sock.send(encode_ack(_PUBCOMP, mid))
            self._schedule_flush()

    def _puback(self, body: bytes) -> None:
        """Every PUBACK answers one of our QoS 1 publishes (QoS 2 ends with PUBCOMP, paho's)."""
        mid = (body[0] << 8) | body[1]
        entry = self._confirms.pop(mid, None)
        if entry is not None and not entry[0].done():  # else: one that already timed out
            reason = body[2] if len(body) > 2 else 0
            if reason >= 0x80:
                refused = ReasonCode(PacketTypes.PUBACK, identifier=reason)
                entry[0].set_exception(DeliveryFailed(f"MQTT broker {self._where} refused the message: {refused}"))
            else:
                entry[0].set_result(None)
        if self._backlog:
            self._send_backlog()

    def _schedule_flush(self) -> None:
        if not self._flush_soon:
            self._flush_soon = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_soon = False
        sock = self._sock
        if sock is None:
            return
        self._paho.loop_write()
        if sock.unsent:
            self._paho.bytes_sent()
        try:
            done = sock.flush()
        except OSError as err:
            log.debug("%s: write failed: %s", self.label, err)
            sock.shutdown()  # the reader sees end of file and paho runs its disconnect path
            return
        if sock.unsent < UNSENT_HIGH_WATER:
            self._drained.set()
        else:
            self._drained.clear()
        if done and self._writing:
            self._loop.remove_writer(sock.fileno())
            self._writing = False
        elif not done and not self._writing:
            self._loop.add_writer(sock.fileno(), self._flush)
            self._writing = True

    def _tick(self) -> None:
        """Keepalive (PINGREQ, and a dead broker detected) and PUBACK deadlines, once a second."""
        if self._sock is not None:
            self._paho.loop_misc()
        now = self._loop.time()
        while self._confirms:
            mid, (fut, deadline) = next(iter(self._confirms.items()))
            if deadline > now:
                break
            del self._confirms[mid]
            if not fut.done():
                fut.set_exception(DeliveryFailed(f"MQTT broker {self._where} did not confirm the message in time"))
        self._send_backlog()
        self._misc = self._loop.call_later(MISC_INTERVAL, self._tick)

    def _stop_ticking(self) -> None:
        if self._misc is not None:
            self._misc.cancel()
            self._misc = None

    # --- what nodes call --------------------------------------------------------
    async def subscribe(self, topic: str, qos: int, timeout: float = 10.0) -> int:
        """Subscribe and return the granted QoS; ConnectorError when the broker refuses."""
        if self.settings.v5:
            options = SubscribeOptions(qos=qos, retainHandling=SubscribeOptions.RETAIN_SEND_IF_NEW_SUB)
            rc, mid = self._paho.subscribe(topic, options=options)
        else:
            rc, mid = self._paho.subscribe(topic, qos)
        if rc != paho.MQTT_ERR_SUCCESS or mid is None:
            raise NotConnected(f"cannot subscribe to '{topic}': {paho.error_string(rc)}")
        fut = self._subacks[mid] = self._loop.create_future()
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise ConnectorError(
                f"MQTT broker {self._where} did not answer SUBSCRIBE '{topic}' in {timeout:g} s") from None
        except NotConnected:
            raise
        except ConnectorError as err:
            raise ConnectorError(f"MQTT broker {self._where} refused the subscription to '{topic}': {err}") from None

    def ack(self, mid: int, qos: int) -> None:
        """PUBACK (QoS 1) or PUBREC (QoS 2) an inbound message; the caller checked the generation."""
        if not self.connected or self._sock is None:
            return
        if qos == 2:  # PUBREC only now: until then the broker keeps the message and resends it
            self._pubrecs.add(mid)
        self._sock.send(encode_ack(_PUBACK if qos == 1 else _PUBREC, mid))
        self._schedule_flush()

    async def publish(self, topic: str, payload: bytes, qos: int, retain: bool, props: PackedProperties | None,
                      timeout: float) -> None:
        """Return once the broker confirmed: PUBACK (QoS 1) or PUBCOMP (QoS 2); for QoS 0,
        once the packet is queued. The broker's receive maximum bounds what is unconfirmed.

        Raises NotConnected (down, or lost before the confirm: the message may or may not
        have arrived), DeliveryFailed (refused by the broker, or no confirm in `timeout`),
        ValueError (a topic MQTT does not allow for publishing: empty, or with a wildcard).
        """
        if qos == 0:
            self._send(topic, payload, 0, retain, props)
            if not self._drained.is_set():
                await self._drained.wait()
            return
        if not self.connected:
            raise NotConnected(f"not connected to MQTT broker {self._where}")
        waiting = _Outgoing(topic, payload, qos, retain, props, timeout, self._loop.create_future())
        if self._backlog or len(self._confirms) >= self._receive_maximum:
            encoded_topic(topic)  # a bad topic fails now, not when its turn comes
            self._backlog.append(waiting)
        else:
            self._transmit(waiting)  # a bad topic fails `confirmed` at once
        await waiting.confirmed

    def _transmit(self, out: _Outgoing) -> None:
        try:
            mid = self._send(out.topic, out.payload, out.qos, out.retain, out.props)
        except (NotConnected, ValueError) as err:
            out.confirmed.set_exception(err)
        else:
            self._confirms[mid] = (out.confirmed, self._loop.time() + out.timeout)

    def _send_backlog(self) -> None:
        """Publishes that waited for room under the broker's receive maximum go out in order.
        They have no deadline while they wait: those ahead of them have theirs."""
        backlog = self._backlog
        while backlog and len(self._confirms) < self._receive_maximum and self.connected:
            out = backlog.popleft()
            if not out.confirmed.done():  # else its publisher was cancelled
                self._transmit(out)

    def _send(self, topic: str, payload: bytes, qos: int, retain: bool, props: PackedProperties | None) -> int:
        """Queue a PUBLISH; its packet id (0 for QoS 0). QoS 0 and 1 are encoded here, QoS 2
        (whose PUBREC/PUBREL/PUBCOMP handshake paho runs) by paho."""
        sock = self._sock
        if not self.connected or sock is None:
            raise NotConnected(f"not connected to MQTT broker {self._where}")
        if qos == 2:
            info = self._paho.publish(topic, payload, qos, retain, props)  # type: ignore[arg-type]  # duck-typed
            if info.rc != paho.MQTT_ERR_SUCCESS:
                raise NotConnected(f"cannot publish to {self._where}: {paho.error_string(info.rc)}")
            return info.mid
        mid = self._paho.next_mid() if qos else 0
        properties = (props.packed if props is not None else b"\x00") if self.settings.v5 else b""
        sock.send(encode_publish(encoded_topic(topic), payload, qos, retain, mid, properties))
        self._schedule_flush()
        return mid


class _Outgoing(NamedTuple):
    """A QoS 1/2 publish waiting for room under the broker's receive maximum."""

    topic: str
    payload: bytes
    qos: int
    retain: bool
    props: PackedProperties | None
    timeout: float
    confirmed: asyncio.Future[None]


def _describe(err: BaseException) -> str:
    if isinstance(err, ConnectionRefusedError):
        return "connection refused (is the broker running, and is the port right?)"
    if isinstance(err, socket.gaierror):
        return f"unknown host ({err.strerror})"
    if isinstance(err, TimeoutError):
        return "timed out"
    if isinstance(err, ssl.SSLError):
        return f"TLS failed: {err.reason or err}"
    return f"{type(err).__name__}: {err}"
