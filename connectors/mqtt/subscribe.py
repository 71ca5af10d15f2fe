"""`mqtt.subscribe`: messages from an MQTT topic filter, acknowledged when the flow finished.

The PUBACK (QoS 1) or PUBREC (QoS 2) of a message goes out only from `settle`,
once every path of the flow finished (`Outcome.ok`), so a crash before that
leaves the message with the broker, which sends it again when the session
resumes. (For QoS 2 the PUBREL that follows is answered with PUBCOMP at once:
the message went through before the PUBREC.) Sessions are persistent for QoS >= 1
(`clean_start: false`, a stable client id, MQTT 5 session expiry).

MQTT has no nack. A message whose flow failed is not acknowledged and is retried
here, with exponential backoff, as attempt 2, 3, ..., holding its in-flight slot
(so a failing sink slows the subscription down rather than filling memory),
until it succeeds or the connection it arrived on is gone: then the broker
redelivers it on the resumed session and this copy is dropped. A QoS 1/2 message
that fails while the connection is down is held, not retried, until the next
CONNACK says whether the session (and so the broker's redelivery) survived: a
retry in between would publish it once more beside the redelivered copy, a repeat
beyond the bound of one per message in flight when the connection dropped. A flow
with an `on error` route never gets here for handled errors.

Back pressure: at most `max_in_flight` messages are unacknowledged. MQTT 5 tells
the broker so (Receive Maximum) and the broker holds back QoS 1/2 messages itself;
for QoS 0 and MQTT 3.1.1 the client stops reading the socket at the bound, so
the broker and TCP hold the rest. (Under MQTT 5 with QoS 1/2 the client keeps
reading, up to twice the bound as a last resort: a socket that is not read
cannot answer keepalives, and the broker bounds what it sends anyway.)
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass

from connectors.mqtt.client import MqttClient
from connectors.mqtt.convert import Inbound, to_message
from connectors.mqtt.settings import (
    PROTOCOL_FIELD,
    QOS_FIELD,
    URL_FIELD,
    Settings,
    broker_url,
    subscriber_client_id,
)
from connectors.mqtt.topics import filter_problem
from flowengine.plugin import Backoff, BuildContext, Field, KindSpec, Outcome, Role, Source, SourceContext

log = logging.getLogger("flowengine.mqtt")
_REDELIVERY = Backoff(initial=0.5, maximum=30.0)  # a failed message is handed to the flow again after this


@dataclass
class SubscribeStats:
    received: int = 0
    duplicates: int = 0  # deliveries the broker flagged as dup (a redelivery)
    acked: int = 0
    retries: int = 0
    held: int = 0  # failed while the connection was down: decided at the next CONNACK


class _Delivery:
    """One inbound packet until it is acked or given up, and the connection it arrived on."""

    __slots__ = ("generation", "packet", "retries", "session", "source")

    def __init__(self, source: MqttSubscribe, packet: Inbound, generation: int, session: int) -> None:
        self.source = source
        self.packet = packet
        self.generation = generation
        self.session = session
        self.retries = 0

    async def settle(self, outcome: Outcome) -> None:
        self.source.settle(self, outcome)


class MqttSubscribe(Source):
    def __init__(self, flow: str, name: str, settings: Settings, topic: str, qos: int, max_in_flight: int) -> None:
        super().__init__(name, "mqtt.subscribe")
        self.label = f"flow {flow} node {name}"
        self.settings = settings
        self.topic = topic
        self.qos = qos
        self.max_in_flight = max_in_flight
        broker_bounds = settings.v5 and qos > 0
        self._pause_at = 2 * max_in_flight if broker_bounds else max_in_flight
        self.stats = SubscribeStats()
        self.client: MqttClient | None = None
        self._ctx: SourceContext | None = None
        self._inbox: deque[_Delivery] = deque()
        self._wake = asyncio.Event()
        self._unsettled = 0
        self._settled = asyncio.Event()
        self._settled.set()
        self._retrying: dict[_Delivery, asyncio.Task[None]] = {}
        self._held: list[_Delivery] = []
        self._pump_task: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        self._stopping = False

    # --- lifecycle -------------------------------------------------------------
    async def start(self, ctx: SourceContext) -> None:
        """Connect and subscribe. Also how a paused flow resumes (`pause` is `stop`): the
        previous connection finishes its acks and closes first, then the session resumes."""
        if self._closer is not None:
            await asyncio.gather(self._closer, return_exceptions=True)
            self._closer = None
        self._ctx = ctx
        self._stopping = False
        self.client = MqttClient(self.settings, self.label, self)
        self._pump_task = asyncio.create_task(self._pump())
        try:
            await self.client.connect()
        except BaseException:
            self._pump_task.cancel()
            raise

    async def stop(self) -> None:
        """Take no more messages. Those already received go through the flow (the runtime
        drains them, and their acks still go out); failed ones are not retried any more but
        left unacknowledged for the broker to redeliver. The connection closes once all
        have settled."""
        self._stopping = True
        if self.client is None:
            return
        self.client.pause_reading()
        if self._pump_task is not None:
            self._pump_task.cancel()
            await asyncio.gather(self._pump_task, return_exceptions=True)
        assert self._ctx is not None
        while self._inbox:
            delivery = self._inbox.popleft()
            await self._ctx.submit(to_message(delivery.packet), delivery.settle)
        for task in list(self._retrying.values()):
            task.cancel()
        held, self._held = self._held, []
        for delivery in held:
            self._release(delivery)
        self._closer = asyncio.create_task(self._close_when_settled())

    async def close(self) -> None:
        if self._closer is not None and not self._settled.is_set():
            self._closer.cancel()  # the drain timed out: close now
        if self.client is not None:
            await self.client.close()

    async def _close_when_settled(self) -> None:
        await self._settled.wait()
        assert self.client is not None
        await self.client.close()

    # --- the client's handler --------------------------------------------------
    async def ready(self, client: MqttClient, session_present: bool) -> None:
        if self.settings.v5 or not session_present:  # MQTT 5 resubscribes without replaying retained messages
            granted = await client.subscribe(self.topic, self.qos)
            if granted < self.qos:
                log.warning("%s: broker granted QoS %d for '%s' (asked %d)", self.label, granted, self.topic, self.qos)
            log.info("%s: subscribed to '%s' (QoS %d)", self.label, self.topic, granted)
        for delivery, task in list(self._retrying.items()):
            if self._broker_redelivers(delivery):
                task.cancel()
        held, self._held = self._held, []
        for delivery in held:
            if self._broker_redelivers(delivery):
                self._release(delivery)
            else:  # a new session: nobody else will send it again
                self._schedule_retry(delivery)

    def lost(self) -> None:
        """Nothing to do: deliveries remember their connection (see `settle`)."""

    def message(self, packet: Inbound) -> None:
        if self._stopping:
            return  # unacknowledged: the broker redelivers it to the next session
        assert self.client is not None
        self.stats.received += 1
        if packet.dup:
            self.stats.duplicates += 1
        self._inbox.append(_Delivery(self, packet, self.client.generation, self.client.session))
        self._unsettled += 1
        self._settled.clear()
        if self._unsettled >= self._pause_at:
            self.client.pause_reading()
        self._wake.set()

    # --- into the flow and back ------------------------------------------------
    async def _pump(self) -> None:
        assert self._ctx is not None
        inbox, submit, wake = self._inbox, self._ctx.submit, self._wake
        while True:
            if not inbox:
                wake.clear()
                await wake.wait()
                continue
            delivery = inbox.popleft()
            try:
                await submit(to_message(delivery.packet), delivery.settle)
            except asyncio.CancelledError:
                inbox.appendleft(delivery)  # `stop` hands it in
                raise

    def settle(self, delivery: _Delivery, outcome: Outcome) -> None:
        client = self.client
        assert client is not None
        if outcome.ok:
            qos = delivery.packet.qos
            if qos and client.connected and delivery.generation == client.generation:
                client.ack(delivery.packet.mid, qos)  # PUBACK (QoS 1) or PUBREC (QoS 2)
                self.stats.acked += 1
            self._release(delivery)
        elif self._stopping or self._broker_redelivers(delivery):
            self._release(delivery)
        elif delivery.packet.qos and not client.connected:
            self._hold(delivery)
        else:
            self._schedule_retry(delivery)

    def _schedule_retry(self, delivery: _Delivery) -> None:
        delivery.retries += 1
        self.stats.retries += 1
        task = self._retrying[delivery] = asyncio.create_task(self._retry(delivery))
        task.add_done_callback(lambda t: self._retry_done(delivery, t))

    def _hold(self, delivery: _Delivery) -> None:
        """Keep a failed QoS 1/2 delivery (and its slot) until `ready` knows whether the broker
        sends it again."""
        self._held.append(delivery)
        self.stats.held += 1

    def _broker_redelivers(self, delivery: _Delivery) -> bool:
        """The packet's connection is gone but its session lives on: the broker sends it again
        (QoS 1 without PUBACK, QoS 2 without PUBREC)."""
        client = self.client
        assert client is not None
        return (
            delivery.packet.qos > 0
            and delivery.session == client.session
            and delivery.generation != client.generation
        )

    async def _retry(self, delivery: _Delivery) -> None:
        assert self._ctx is not None
        await asyncio.sleep(_REDELIVERY.delay(delivery.retries - 1))
        assert self.client is not None
        if delivery.packet.qos and not self.client.connected:
            self._hold(delivery)
            return
        msg = to_message(delivery.packet)
        msg.attempt += delivery.retries
        log.debug("%s: retrying message %s (attempt %d)", self.label, msg.id, msg.attempt)
        await self._ctx.submit(msg, delivery.settle)

    def _retry_done(self, delivery: _Delivery, task: asyncio.Task[None]) -> None:
        """A retry handed in settles through `settle`; one cancelled (stop, or the broker
        redelivers) releases its slot here, since its body may never have run."""
        self._retrying.pop(delivery, None)
        if task.cancelled() or task.exception() is not None:
            self._release(delivery)

    def _release(self, delivery: _Delivery) -> None:
        """The delivery is done with: acknowledged, or left to the broker (or, QoS 0/2, given up)."""
        self._unsettled -= 1
        if self._unsettled < self._pause_at and not self._stopping and self.client is not None:
            self.client.resume_reading()
        if self._unsettled == 0:
            self._settled.set()


def build(ctx: BuildContext) -> MqttSubscribe:
    o = ctx.options
    url = broker_url(ctx)
    topic = o["topic"]
    problem = filter_problem(topic)
    if problem:
        raise ctx.fail(f"bad topic filter '{topic}': {problem}", "topic")
    qos = o["qos"]
    clean_start = o.get("clean_start")
    if clean_start is None:
        clean_start = qos == 0
    settings = Settings(
        url=url,
        client_id=o.get("client_id") or subscriber_client_id(ctx.flow, ctx.name, topic),
        protocol=o["protocol"],
        clean_start=clean_start,
        session_expiry=0 if clean_start else o["session_expiry"],
        receive_maximum=o["max_in_flight"],
    )
    return MqttSubscribe(ctx.flow, ctx.name, settings, topic, qos, o["max_in_flight"])


SPEC = KindSpec(
    name="mqtt.subscribe",
    role=Role.SOURCE,
    external=True,
    summary="Receive messages from an MQTT topic filter; each is acknowledged only after the flow finished.",
    description=(
        "With QoS 1 or 2 the PUBACK/PUBREC goes out only once every path of the flow finished, and the "
        "session is persistent, so a crash means redelivery, not loss. A failed message is not acknowledged "
        "and is retried with backoff (attempt 2, 3, ...) until it succeeds or its connection drops, when the "
        "broker redelivers it. MQTT 5 user properties become headers (`traceparent` the trace, `message-id` "
        "the id); `attributes` hold `mqtt.topic`, `mqtt.qos`, `mqtt.retain`, `mqtt.dup`. "
        "`$share/GROUP/FILTER` lets several engines split one subscription."
    ),
    build=build,
    options={
        "url": URL_FIELD,
        "topic": Field({"type": "string", "minLength": 1}, "Topic filter: `+` one level, `#` the rest, "
                       "`$share/GROUP/FILTER` a shared subscription", required=True,
                       examples=("sensors/+/telemetry", "$share/workers/orders/#")),
        "qos": QOS_FIELD,
        "client_id": Field({"type": "string", "minLength": 1, "maxLength": 65535},
                           "Client id; defaults to fe-FLOW-NODE-HASH, stable across restarts of this engine "
                           "(hash of $FLOWENGINE_INSTANCE or the host name, and the topic)"),
        "clean_start": Field({"type": "boolean"}, "Start a fresh session on connect; defaults to true for "
                             "QoS 0, false (a persistent session that keeps messages while away) for QoS 1 and 2"),
        "session_expiry": Field({"type": "integer", "minimum": 1, "maximum": 4294967295},
                                "MQTT 5: seconds the broker keeps a persistent session after a disconnect",
                                default=3600),
        "protocol": PROTOCOL_FIELD,
        "max_in_flight": Field({"type": "integer", "minimum": 1, "maximum": 65535},
                               "Unacknowledged messages at most (MQTT 5 Receive Maximum); the broker holds the rest",
                               default=256),
    },
)

