"""Test-side tools for the AMQP connector tests: an external producer/consumer on
the real RabbitMQ, flows deployed on engines, and cutting only the engine's own
broker connections (other test sessions share the broker)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage

from connectors.amqp.connection import DEFAULT_URL, connections
from flowengine.runtime.engine import Engine
from tests.conftest import compile_ok
from tests.conftest import eventually as until  # noqa: F401  (the AMQP tests import it from here)


def unique(prefix: str) -> str:
    return f"test.{prefix}.{uuid.uuid4().hex[:10]}"


@contextlib.asynccontextmanager
async def deployed(text: str, engines: int = 1) -> AsyncIterator[list[Engine]]:
    """The flow running on `engines` separate engines (each with its own connection)."""
    running = []
    try:
        for _ in range(engines):
            engine = Engine()
            await engine.deploy(compile_ok(text))
            running.append(engine)
        yield running
    finally:
        for engine in running:
            await engine.stop(drain_timeout=10)


class Broker:
    """The outside world: publishes into and reads out of RabbitMQ with aio-pika."""

    def __init__(self, connection: AbstractConnection, channel: AbstractChannel) -> None:
        self.connection = connection
        self.channel = channel
        self.queues_to_delete: list[str] = []
        self.exchanges_to_delete: list[str] = []

    async def queue(self, name: str, **arguments: Any) -> str:
        await self.channel.declare_queue(name, durable=True, arguments=arguments or None)
        self.queues_to_delete.append(name)
        return name

    async def exchange(self, name: str, kind: str = "topic") -> str:
        await self.channel.declare_exchange(name, kind, durable=True)
        self.exchanges_to_delete.append(name)
        return name

    async def publish(self, routing_key: str, body: bytes, *, exchange: str = "", **props: Any) -> None:
        target = await self.channel.get_exchange(exchange, ensure=False) if exchange else self.channel.default_exchange
        props.setdefault("delivery_mode", aio_pika.DeliveryMode.PERSISTENT)
        await target.publish(aio_pika.Message(body, **props), routing_key)

    async def publish_many(self, queue: str, bodies: list[bytes], batch: int = 500) -> None:
        for start in range(0, len(bodies), batch):
            await asyncio.gather(*(self.publish(queue, b, message_id=f"m{start + i}")
                                   for i, b in enumerate(bodies[start:start + batch])))

    async def relay(self, inq: str, outq: str) -> Collector:
        """Declare a flow's input and output queues; collect what reaches the output."""
        await self.queue(inq)
        await self.queue(outq)
        return await self.collect(outq)

    async def collect(self, queue: str) -> Collector:
        collector = Collector()
        q = await self.channel.get_queue(queue)
        await q.consume(collector.on_message, no_ack=True)
        return collector

    async def count(self, queue: str) -> int:
        """Messages ready in `queue` (not counting unacknowledged ones)."""
        channel = await self.connection.channel()
        try:
            q = await channel.declare_queue(queue, passive=True)
            return q.declaration_result.message_count or 0
        finally:
            await channel.close()

    async def queue_type(self, name: str) -> str:
        listing = await rabbitmqctl("list_queues", "--no-table-headers", "name", "type")
        types = dict(line.split("\t") for line in listing.splitlines() if "\t" in line)
        return types[name]

    async def cleanup(self) -> None:
        channel = await self.connection.channel()
        for name in self.queues_to_delete:
            await channel.queue_delete(name)
        for name in self.exchanges_to_delete:
            await channel.exchange_delete(name)
        await channel.close()


class Collector:
    """Everything a test consumer received, and a way to wait for a count."""

    def __init__(self) -> None:
        self.messages: list[AbstractIncomingMessage] = []
        self.ids: set[str | None] = set()
        self._changed = asyncio.Event()

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        self.messages.append(message)
        self.ids.add(message.message_id)
        self._changed.set()

    async def wait_for(self, predicate: Any, timeout: float = 10.0) -> None:
        async def loop() -> None:
            while not predicate(self.messages):
                self._changed.clear()
                await self._changed.wait()
        await asyncio.wait_for(loop(), timeout)

    async def wait_count(self, n: int, timeout: float = 10.0) -> list[AbstractIncomingMessage]:
        await self.wait_for(lambda ms: len(ms) >= n, timeout)
        return self.messages


@contextlib.asynccontextmanager
async def broker() -> AsyncIterator[Broker]:
    connection = await aio_pika.connect(DEFAULT_URL + "?name=flowengine+tests")
    channel = await connection.channel()
    b = Broker(connection, channel)
    try:
        yield b
    finally:
        await b.cleanup()
        await connection.close()


async def rabbitmqctl(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec("rabbitmqctl", "-q", *args, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode == 0, f"rabbitmqctl {' '.join(args)} failed: {err.decode()}"
    return out.decode()


async def kill_connections(engine: Engine) -> int:
    """Close the engine's own broker connections from the broker side; returns how many."""
    names = {c.name for c in connections(engine.services).values()}
    listing = await rabbitmqctl("list_connections", "--no-table-headers", "client_properties", "pid")
    pids = [line.rsplit(None, 1)[-1] for line in listing.splitlines() if any(f'"{n}"' in line for n in names)]
    for pid in pids:
        await rabbitmqctl("close_connection", pid, "flowengine fault test")
    return len(pids)


def relay_flow(name: str, inq: str, outq: str, url: str | None = None) -> str:
    """The plainest AMQP flow: queue `inq` to queue `outq`, on the default broker or at `url`
    (the fault tests put a proxy there)."""
    at = f'url: "{url}", ' if url else ""
    return f"""
flow {name} {{
  source inq = amqp.consume({at}queue: "{inq}")
  sink out = amqp.publish({at}routing_key: "{outq}")
  inq -> out
}}
"""
