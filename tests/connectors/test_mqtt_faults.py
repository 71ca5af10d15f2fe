"""MQTT under faults, against the real Mosquitto: connections cut mid-stream, shared subscriptions.

The engine reaches the broker through a `TcpProxy`, so the test cuts exactly the
engine's connections (subscriber and publisher at once), as a network failure
would. The test publisher keeps at most `WINDOW` messages ahead of what came out:
Mosquitto queues at most 1000 QoS 1 messages per client (`max_queued_messages`)
and drops the rest, which would be the broker's loss, not the engine's. Besides
the window, the broker holds the engine's unacknowledged messages (up to
`max_in_flight`, 256), and after a cut also those whose output went out but whose
PUBACK was lost with the connection; the window leaves room for both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import orjson
import pytest

from connectors.mqtt.subscribe import MqttSubscribe
from tests.conftest import compile_ok
from tests.connectors.mqtt_helpers import Outside, TcpProxy, eventually, node_of, outside, running, uid

pytestmark = pytest.mark.broker

WINDOW = 250


class Tally:
    """What reached the output topic: every payload, the distinct ones, the repeats."""

    def __init__(self, world: Outside, prefix: str) -> None:
        self.world = world
        self.prefix = prefix
        self.seen: set[int] = set()
        self.total = 0
        self._read = 0

    def update(self) -> int:
        batch = self.world.received[self._read:]
        self._read += len(batch)
        for m in batch:
            if m.topic.startswith(self.prefix):
                body = orjson.loads(m.payload)
                assert body["doubled"] == 2 * body["n"], body
                self.seen.add(body["n"])
                self.total += 1
        return len(self.seen)

    @property
    def duplicates(self) -> int:
        return self.total - len(self.seen)


async def publish_paced(world: Outside, topic: str, count: int, tally: Tally,
                        on_progress: Callable[[], None] = lambda: None) -> None:
    for n in range(count):
        while n - tally.update() > WINDOW:
            await asyncio.sleep(0.005)
        world.publish(topic, b'{"n": %d}' % n, 1)
        on_progress()


async def test_no_loss_when_the_engine_connections_are_cut_mid_stream() -> None:
    t, total = uid(), 10_000
    async with TcpProxy() as proxy:
        flow = compile_ok(f"""
flow noloss_{t} {{
  source inp = mqtt.subscribe(url: "{proxy.url}", topic: "fe/{t}/in", qos: 1)
  transform twice = json.map {{ n: body.n; doubled: body.n * 2 }}
  sink out = mqtt.publish(url: "{proxy.url}", topic: "fe/{t}/out", qos: 1)
  inp -> twice -> out
}}""")
        source = node_of(flow, "inp")
        assert isinstance(source, MqttSubscribe)
        with outside() as world:
            world.subscribe(f"fe/{t}/out")
            tally = Tally(world, f"fe/{t}/out")
            cut_at = [2_500, 5_000, 7_500]

            def cut_on_schedule() -> None:
                if cut_at and tally.update() >= cut_at[0]:
                    cut_at.pop(0)
                    proxy.cut()

            started = time.monotonic()
            async with running(flow):
                await publish_paced(world, f"fe/{t}/in", total, tally, cut_on_schedule)
                await eventually(lambda: tally.update() == total, timeout=60,
                                 what=f"all {total} messages (have {len(tally.seen)})")
            elapsed = time.monotonic() - started
    print(f"\nMQTT no-loss: sent {total}, received {tally.total}, unique {len(tally.seen)}, "
          f"duplicates {tally.duplicates}, connection cuts {proxy.cuts - 1}, "
          f"engine: received {source.stats.received} (dup-flagged {source.stats.duplicates}), "
          f"acked {source.stats.acked}, retries {source.stats.retries}; {elapsed:.1f} s")
    assert tally.seen == set(range(total))
    assert proxy.cuts - 1 == 3  # (the last count is the proxy closing)


async def test_two_engines_on_a_shared_subscription_split_the_messages() -> None:
    t, total = uid(), 400
    text = f"""
flow shared_{t} {{
  source inp = mqtt.subscribe(topic: "$share/g{t}/fe/{t}/in", qos: 1, client_id: "${{CID}}")
  transform twice = json.map {{ n: body.n; doubled: body.n * 2 }}
  sink out = mqtt.publish(topic: "fe/{t}/out", qos: 1)
  inp -> twice -> out
}}"""
    flows = [compile_ok(text, env={"CID": f"fe-test-{t}-{i}"}) for i in (1, 2)]
    sources = [node_of(f, "inp") for f in flows]
    assert all(isinstance(s, MqttSubscribe) for s in sources)
    with outside() as world:
        world.subscribe(f"fe/{t}/out")
        tally = Tally(world, f"fe/{t}/out")
        async with running(*flows):
            await publish_paced(world, f"fe/{t}/in", total, tally)
            await eventually(lambda: tally.update() == total, timeout=30, what=f"all {total} messages")
    counts = [s.stats.received for s in sources]  # type: ignore[attr-defined]
    print(f"\nshared subscription: {total} messages split {counts[0]} / {counts[1]}, duplicates {tally.duplicates}")
    assert tally.seen == set(range(total))
    assert all(c > 0 for c in counts) and sum(counts) >= total
    for i in (1, 2):  # end the sessions the engines left behind
        Outside(client_id=f"fe-test-{t}-{i}", clean_start=True).close()
