"""Fault test: a poison message with no error route is dead-lettered by the broker after N
deliveries (quorum queue counting), while the others flow on; `ordered` keeps queue order."""

from __future__ import annotations

import orjson
import pytest

from flowengine.runtime.engine import Engine
from tests.conftest import compile_ok
from tests.connectors.amqp_helpers import broker, unique

pytestmark = pytest.mark.broker


async def test_poison_is_rejected_to_the_dead_letter_exchange_after_max_attempts():
    inq, outq, dlx, dlq = unique("p.in"), unique("p.out"), unique("p.dlx"), unique("p.dlq")
    text = f"""flow poison {{
  source inq = amqp.consume(queue: "{inq}", quorum: true, dead_letter_exchange: "{dlx}", max_attempts: 3,
                            requeue_delay: 0.05, prefetch: 8)
  transform shape = json.map {{ n: body.n }}
  sink out = amqp.publish(routing_key: "{outq}")
  inq -> shape -> out
}}"""
    async with broker() as b:
        await b.exchange(dlx, "fanout")
        await b.queue(dlq)
        q = await b.channel.get_queue(dlq)
        await q.bind(dlx, "#")
        await b.queue(outq)
        got, dead = await b.collect(outq), await b.collect(dlq)
        engine = Engine()
        await engine.deploy(compile_ok(text))  # declares the quorum input queue with its dead-letter exchange
        b.queues_to_delete.append(inq)
        for i in range(50):
            await b.publish(inq, b"not json" if i == 20 else orjson.dumps({"n": i}), message_id=f"m{i}")
        await got.wait_count(49, timeout=30)
        await dead.wait_count(1, timeout=30)
        await engine.stop()
    (poison,) = dead.messages
    deaths = poison.headers["x-death"]
    print(f"\nbroker poison: sent 50, delivered {len(got.messages)}, dead-lettered {len(dead.messages)} "
          f"({poison.message_id}, reason {deaths[0]['reason']})")
    assert got.ids == {f"m{i}" for i in range(50)} - {"m20"} and poison.message_id == "m20"


async def test_ordered_consumption_keeps_queue_order_through_a_failure():
    inq, outq = unique("o.in"), unique("o.out")
    text = f"""flow ordered {{
  source inq = amqp.consume(queue: "{inq}", ordered: true, requeue_delay: 0.05)
  transform shape = json.map {{ n: body.n; inverse: 1 / (body.n - 5 + attempt - 1) }}
  sink out = amqp.publish(routing_key: "{outq}")
  inq -> shape -> out
}}"""
    async with broker() as b:
        got = await b.relay(inq, outq)
        engine = Engine()
        await engine.deploy(compile_ok(text))
        for i in range(10):  # n == 5 fails on its first delivery (1 / 0) and succeeds on the redelivery
            await b.publish(inq, orjson.dumps({"n": i}), message_id=f"m{i}")
        await got.wait_count(10, timeout=30)
        await engine.stop()
    assert [orjson.loads(m.body)["n"] for m in got.messages] == list(range(10))
