"""At-least-once under fire: the engine's broker connections are cut while 10,000 messages flow."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from tests.connectors.amqp_helpers import broker, deployed, kill_connections, unique

pytestmark = pytest.mark.broker

TOTAL = 10_000
CUTS_AT = (2_500, 6_000)


async def test_no_message_lost_when_connections_are_closed_mid_stream() -> None:
    inq, outq = unique("in"), unique("out")
    flow = f"""
flow relay_under_fire {{
  source inq = amqp.consume(queue: "{inq}", prefetch: 64)
  transform shape = json.map {{ n: body.n; double: body.n * 2 }}
  sink out = amqp.publish(routing_key: "{outq}")
  inq -> shape -> out
}}
"""
    async with broker() as b:
        got = await b.relay(inq, outq)
        await b.publish_many(inq, [orjson.dumps({"n": i}) for i in range(TOTAL)])
        async with deployed(flow) as (engine,):
            cuts = 0
            for at in CUTS_AT:
                await got.wait_for(lambda ms, at=at: len(ms) >= at, timeout=30)
                cuts += await kill_connections(engine)
            await got.wait_for(lambda _: len(got.ids) >= TOTAL, timeout=40)
            await asyncio.sleep(0.5)  # let late duplicates arrive, so the count is honest
            stats = engine.flows["relay_under_fire"].stats
            failed = stats["out"].errors
        left = await b.count(inq)
    received = len(got.messages)
    duplicates = received - len(got.ids)
    print(f"\namqp no-loss: sent {TOTAL}, received {received}, unique {len(got.ids)}, duplicates {duplicates}, "
          f"connections cut {cuts}, publishes failed {failed}, left in input queue {left}")
    assert cuts == len(CUTS_AT)
    assert got.ids == {f"m{i}" for i in range(TOTAL)}
    for m in got.messages:
        n = int(m.message_id[1:])
        assert orjson.loads(m.body) == {"n": n, "double": 2 * n}
    assert left == 0
