"""Test-side tools for the MQTT connector tests against the real Mosquitto.

`Outside` is the world beyond the engine: a plain paho client on its own thread
that publishes into the broker and collects what the flows publish. `TcpProxy`
sits between an engine and the broker so a test can cut the engine's
connections the way a network failure does, without touching anyone else's.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import uuid
from collections.abc import AsyncIterator, Iterator

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from flowengine.compile.graph import CompiledFlow
from flowengine.core.nodes import Node
from flowengine.runtime.engine import Engine
from tests.conftest import eventually

BROKER_HOST, BROKER_PORT = "127.0.0.1", 1883


def uid() -> str:
    return uuid.uuid4().hex[:10]


def node_of(flow: CompiledFlow, name: str) -> Node:
    runtime = flow.info(name).runtime
    assert runtime is not None
    return runtime


@contextlib.asynccontextmanager
async def running(*flows: CompiledFlow) -> AsyncIterator[list[Engine]]:
    """Each flow deployed on an engine of its own; all stopped (drained) at the end."""
    engines: list[Engine] = []
    try:
        for flow in flows:
            engine = Engine()
            await engine.deploy(flow)
            engines.append(engine)
        yield engines
    finally:
        for engine in engines:
            await engine.stop(drain_timeout=10)


class Outside:
    """An independent MQTT client (paho on its own network thread)."""

    def __init__(self, *, protocol: int = mqtt.MQTTv5, client_id: str | None = None, clean_start: bool = True,
                 session_expiry: int = 0) -> None:
        self.protocol = protocol
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or f"test-{uid()}",
                                  protocol=protocol)
        self.client.max_inflight_messages_set(100)
        self.received: list[mqtt.MQTTMessage] = []
        self._subscribed = threading.Event()
        self._connected = threading.Event()
        self.session_present = False
        self.client.on_message = lambda _c, _u, m: self.received.append(m)
        self.client.on_subscribe = lambda *_a: self._subscribed.set()
        self.client.on_connect = self._on_connect
        if protocol == mqtt.MQTTv5:
            props = Properties(PacketTypes.CONNECT)
            if session_expiry:
                props.SessionExpiryInterval = session_expiry
            self.client.connect(BROKER_HOST, BROKER_PORT, clean_start=clean_start, properties=props)
        else:
            self.client.connect(BROKER_HOST, BROKER_PORT)
        self.client.loop_start()
        assert self._connected.wait(10), "the test's own MQTT client did not connect"

    def _on_connect(self, _c: object, _u: object, flags: mqtt.ConnectFlags, *_rest: object) -> None:
        self.session_present = flags.session_present
        self._connected.set()

    def subscribe(self, topic: str, qos: int = 1) -> None:
        self._subscribed.clear()
        self.client.subscribe(topic, qos)
        assert self._subscribed.wait(10), f"no SUBACK for {topic}"

    def publish(self, topic: str, payload: bytes, qos: int = 1, *, user: list[tuple[str, str]] | None = None,
                content_type: str | None = None) -> mqtt.MQTTMessageInfo:
        props = None
        if self.protocol == mqtt.MQTTv5 and (user or content_type):
            props = Properties(PacketTypes.PUBLISH)
            if user:
                props.UserProperty = user
            if content_type:
                props.ContentType = content_type
        return self.client.publish(topic, payload, qos, properties=props)

    def payloads(self, topic_prefix: str = "") -> list[bytes]:
        return [m.payload for m in list(self.received) if m.topic.startswith(topic_prefix)]

    async def wait_for(self, count: int, topic_prefix: str = "", timeout: float = 10.0) -> list[mqtt.MQTTMessage]:
        def enough() -> bool:
            return len(self.payloads(topic_prefix)) >= count

        await eventually(enough, timeout, f"{count} message(s) on '{topic_prefix}*' (have {self.payloads(topic_prefix)})")
        return [m for m in list(self.received) if m.topic.startswith(topic_prefix)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextlib.contextmanager
def outside(**kwargs: object) -> Iterator[Outside]:
    client = Outside(**kwargs)  # type: ignore[arg-type]
    try:
        yield client
    finally:
        client.close()


class TcpProxy:
    """A TCP relay on 127.0.0.1 to the broker. `cut()` aborts every connection through it,
    on both sides, as a failed network would; new connections are relayed again."""

    def __init__(self, target_port: int = BROKER_PORT) -> None:
        self.target_port = target_port
        self.port = 0
        self.cuts = 0
        self._server: asyncio.Server | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()

    async def __aenter__(self) -> TcpProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        self.cut()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def cut(self) -> None:
        self.cuts += 1
        for client_side, broker_side in list(self._pairs):
            client_side.transport.abort()
            broker_side.transport.abort()
        self._pairs.clear()

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        broker_r, broker_w = await asyncio.open_connection(BROKER_HOST, self.target_port)
        pair = (client_w, broker_w)
        self._pairs.add(pair)
        try:
            await asyncio.gather(_pipe(client_r, broker_w), _pipe(broker_r, client_w))
        finally:
            self._pairs.discard(pair)
            client_w.transport.abort()
            broker_w.transport.abort()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()
