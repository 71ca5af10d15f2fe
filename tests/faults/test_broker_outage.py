"""Fault test: RabbitMQ itself stops for 10 s in the middle of a stream, then comes back.

`rabbitmqctl stop_app` / `start_app` stop and start the broker application (the
Erlang node stays up, so the test can start it again); every client connection
drops, as in a broker restart. The engine must reconnect with backoff and lose
nothing. Durable queues and persistent messages survive the outage, so the test's
own client connects only while the broker is up (no reconnecting client of its own).
"""

from __future__ import annotations

import asyncio

import aio_pika
import orjson
import pytest

from connectors.amqp.connection import DEFAULT_URL
from tests.connectors.amqp_helpers import rabbitmqctl, unique
from tests.faults.process import EngineProcess

pytestmark = pytest.mark.broker

TOTAL = 3_000
OUTAGE_S = 10
RATE = 300  # messages/s: the engine relays far faster, and the outage must land mid-stream


def paced_relay_flow(inq: str, outq: str) -> str:
    """The crash tests' relay, held to RATE so the stream is still running when the broker stops."""
    return f"""flow crashy {{
  source inq = amqp.consume(queue: "{inq}", prefetch: 128)
  transform pace = throttle(rate: {RATE})
  transform shape = json.map {{ n: body.n; double: body.n * 2 }}
  sink out = amqp.publish(routing_key: "{outq}")
  inq -> pace -> shape -> out
}}
"""


async def _ready_in(queue: str) -> int:
    connection = await aio_pika.connect(DEFAULT_URL + "?name=flowengine+outage+probe")
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.message_count or 0
    finally:
        await connection.close()


async def _start_broker() -> None:
    await rabbitmqctl("start_app")  # a no-op when it runs
    await rabbitmqctl("await_startup")


async def test_broker_stopped_for_10_seconds_loses_nothing(tmp_path):
    inq, outq = unique("outage.in"), unique("outage.out")
    flow_file = tmp_path / "crashy.flow"
    flow_file.write_text(paced_relay_flow(inq, outq))
    connection = await aio_pika.connect(DEFAULT_URL + "?name=flowengine+outage+test")
    channel = await connection.channel(publisher_confirms=True)
    for name in (inq, outq):
        await channel.declare_queue(name, durable=True)
    for i in range(TOTAL):
        msg = aio_pika.Message(orjson.dumps({"n": i}), delivery_mode=aio_pika.DeliveryMode.PERSISTENT)
        await channel.default_exchange.publish(msg, routing_key=inq)
    await connection.close()
    engine = EngineProcess(flow_file, tmp_path / "state.db")
    await engine.start("flow crashy started")
    seen: list[int] = []
    try:
        async with asyncio.timeout(60):
            while (stopped_at := await _ready_in(outq)) < TOTAL // 4:
                await asyncio.sleep(0.05)
        await rabbitmqctl("stop_app")
        await asyncio.sleep(OUTAGE_S)
        await _start_broker()
        connection = await aio_pika.connect(DEFAULT_URL + "?name=flowengine+outage+test")
        channel = await connection.channel()
        out = await channel.declare_queue(outq, durable=True)
        async with asyncio.timeout(120):
            async with out.iterator() as messages:
                async for message in messages:
                    seen.append(orjson.loads(message.body)["n"])
                    await message.ack()
                    if len(set(seen)) >= TOTAL:
                        break
        await asyncio.sleep(1.0)  # late duplicates, so the count is honest
        while (late := await out.get(fail=False)) is not None:
            seen.append(orjson.loads(late.body)["n"])
            await late.ack()
        await channel.queue_delete(inq)
        await channel.queue_delete(outq)
        await connection.close()
    finally:
        await _start_broker()  # whatever happened above, leave the broker running
        exit_code = engine.stop()
    attempts = sum("reconnect attempt" in line for line in engine.output)
    ups = sum("amqp connection" in line and " is up" in line for line in engine.output)
    print(f"\nbroker stopped {OUTAGE_S} s: sent {TOTAL}, {stopped_at} outputs before the stop, delivered {len(seen)}, "
          f"unique {len(set(seen))}, duplicated {len(seen) - len(set(seen))}, reconnect attempts {attempts}")
    assert set(seen) == set(range(TOTAL)) and exit_code == 0
    assert attempts >= 1 and ups >= 2  # it did lose the broker, and came back by itself
