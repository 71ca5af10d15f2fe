"""Fault test: the MQTT broker's port refuses for a while, then accepts (issue 14 item 24).

As `test_amqp_outage_backoff.py`, for an `mqtt.publish` connection: reset, then refused
until `FAILED_ATTEMPTS` attempts have failed (a doubling backoff without a low cap would
then wait 6.4-12.8 s), then accepted: connected again within the 5 s cap plus time to
connect, and the next publish goes through.
"""

from __future__ import annotations

import pytest

from connectors.memory import hub_of
from connectors.mqtt.publish import MqttPublish
from flowengine.runtime.engine import Engine
from tests.conftest import compile_ok
from tests.connectors.mqtt_helpers import BROKER_PORT, eventually, node_of, outside, uid
from tests.faults.proxy import FaultProxy

pytestmark = pytest.mark.broker

FAILED_ATTEMPTS = 6
RECONNECT_CAP = 5.0  # docs/connectors/mqtt.md: the longest wait between attempts


async def test_publishing_resumes_within_seconds_of_the_broker_coming_back() -> None:
    t = uid()
    async with FaultProxy(BROKER_PORT) as proxy:
        flow = compile_ok(f"""
flow outage_{t} {{
  source inp = memory.in(channel: "in")
  sink out = mqtt.publish(url: "mqtt://127.0.0.1:{proxy.port}", topic: "fe/{t}/out", qos: 1)
  inp -> out
}}""")
        sink = node_of(flow, "out")
        assert isinstance(sink, MqttPublish)
        engine = Engine()
        try:
            with outside() as world:
                world.subscribe(f"fe/{t}/out")
                await engine.deploy(flow)
                client = sink.client
                assert client is not None
                proxy.refuse()
                proxy.reset()
                await eventually(lambda: proxy.refused >= FAILED_ATTEMPTS, timeout=20,
                                 what=f"{FAILED_ATTEMPTS} failed attempts")
                assert not client.connected
                proxy.accept()
                await eventually(lambda: client.connected, timeout=RECONNECT_CAP + 2,
                                 what="connected again")  # 2 s: connecting, on a busy machine
                outcome = await hub_of(engine.services).send("in", {"after": "the outage"})
                assert outcome.ok, outcome
                await world.wait_for(1, f"fe/{t}/out")
        finally:
            await engine.stop(drain_timeout=2)
