"""Fault test: how often a message is published again when both MQTT connections drop (item 26).

Repeats after a drop are bounded by one per message in flight on the dropped
connection: only a message whose output reached the broker before its PUBACK could
go out is published again, by the broker's redelivery. The extra repeats came from
messages that failed while the subscriber's connection was down: the subscriber
retried them at once, and after the publisher was back they went out, then their
redelivered copies went out as well. Now such a message is held until the next
CONNACK; the session survived, so the redelivered copy is the only one published.

Scenario, with a `FaultProxy` in front of each connection (subscriber: `sub`,
publisher: `pub`): the publisher's connection goes, so the messages fail; the
subscriber's goes too; the publisher comes back first, then the subscriber. None of
the messages reached the broker's output before, so none may come out twice.
"""

from __future__ import annotations

import orjson
import pytest

from connectors.mqtt.publish import MqttPublish
from connectors.mqtt.subscribe import MqttSubscribe
from flowengine.runtime.engine import Engine
from tests.conftest import compile_ok
from tests.connectors.mqtt_helpers import BROKER_PORT, Outside, eventually, node_of, outside, uid
from tests.faults.proxy import FaultProxy

pytestmark = pytest.mark.broker

MESSAGES = 5


async def test_messages_failed_while_disconnected_come_out_once_after_the_reconnect() -> None:
    t = uid()
    async with FaultProxy(BROKER_PORT) as sub, FaultProxy(BROKER_PORT) as pub:
        flow = compile_ok(f"""
flow repeats_{t} {{
  source inp = mqtt.subscribe(url: "mqtt://127.0.0.1:{sub.port}", topic: "fe/{t}/in", qos: 1)
  sink out = mqtt.publish(url: "mqtt://127.0.0.1:{pub.port}", topic: "fe/{t}/out", qos: 1, connect_wait: 0.1)
  inp -> out
}}""")
        source, sink = node_of(flow, "inp"), node_of(flow, "out")
        assert isinstance(source, MqttSubscribe) and isinstance(sink, MqttPublish)
        engine = Engine()
        try:
            with outside() as world:
                world.subscribe(f"fe/{t}/out")
                await engine.deploy(flow)
                assert source.client is not None and sink.client is not None
                pub.refuse()
                pub.reset()
                await eventually(lambda: not sink.client.connected, what="the publisher's drop noticed")
                for n in range(MESSAGES):
                    world.publish(f"fe/{t}/in", orjson.dumps(n), 1).wait_for_publish(5)
                await eventually(lambda: source.stats.retries >= MESSAGES, what="every message failed once")
                sub.refuse()
                sub.reset()
                await eventually(lambda: source.stats.held == MESSAGES, timeout=15,
                                 what="failed messages held, not retried, while the subscriber is down")
                pub.accept()
                await eventually(lambda: sink.client.connected, what="the publisher back")
                sub.accept()
                await eventually(lambda: source.stats.acked == MESSAGES, timeout=15, what="every redelivery acked")
                await world.wait_for(MESSAGES, f"fe/{t}/out")
                outputs = [orjson.loads(m) for m in world.payloads(f"fe/{t}/out")]
        finally:
            await engine.stop(drain_timeout=2)
            Outside(client_id=source.settings.client_id, clean_start=True).close()  # its session
    assert sorted(outputs) == list(range(MESSAGES))  # each once: none had reached the output before
