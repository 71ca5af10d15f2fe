"""Fault test: an MQTT connection ends while its subscription is saturated (issue 14 item 21).

A flow held up by a sink that lets one message through a minute fills
`max_in_flight`, so the subscriber stops reading its socket (MQTT 3.1.1: the
broker does not bound what it sends). Then the connection is reset or closed at a
`FaultProxy` between the engine and the shared Mosquitto. The end must be noticed
at once, not when the 30 s keepalive runs out (the client is past CONNECTED within
a generous 5 s), and the new connection must come up although the subscription is
still over its bound (it reads its CONNACK, then pauses again).
"""

from __future__ import annotations

import paho.mqtt.client as paho
import pytest

from connectors.memory import hub_of
from connectors.mqtt.client import State
from connectors.mqtt.subscribe import MqttSubscribe
from flowengine.runtime.engine import Engine
from tests.conftest import compile_ok
from tests.connectors.mqtt_helpers import BROKER_PORT, Outside, eventually, node_of, outside, uid
from tests.faults.proxy import FaultProxy

pytestmark = pytest.mark.broker

MESSAGES = 12


@pytest.mark.parametrize("end", ["reset", "close"])
async def test_a_connection_ending_while_reading_is_paused_is_noticed_at_once(end: str) -> None:
    t = uid()
    async with FaultProxy(BROKER_PORT) as proxy:
        flow = compile_ok(f"""
flow saturated_{t} {{
  source inp = mqtt.subscribe(url: "mqtt://127.0.0.1:{proxy.port}", topic: "fe/{t}/in", qos: 1,
                              protocol: "3.1.1", max_in_flight: 3)
  transform slow = throttle(rate: 1, per: "1m")
  sink out = memory.out(channel: "out")
  inp -> slow -> out
}}""")
        source = node_of(flow, "inp")
        assert isinstance(source, MqttSubscribe)
        engine = Engine()
        try:
            await engine.deploy(flow)
            client = source.client
            assert client is not None
            with outside() as world:
                sent = [world.publish(f"fe/{t}/in", b"%d" % n, 1) for n in range(MESSAGES)]
                for info in sent:
                    info.wait_for_publish(5)
            await hub_of(engine.services).wait_for("out", 1)  # the others wait for the throttle
            await eventually(lambda: client.reading_paused, what="the subscription saturated")
            before = client.generation
            getattr(proxy, end)()
            await eventually(lambda: client.state is not State.CONNECTED or client.generation > before,
                             timeout=5, what=f"the {end} noticed")
            await eventually(lambda: client.connected and client.generation > before, timeout=10,
                             what="connected again")
            await eventually(lambda: client.reading_paused, what="the subscription saturated again")
        finally:
            await engine.stop(drain_timeout=0.5)  # what waits for the throttle comes back next session
            Outside(protocol=paho.MQTTv311, client_id=source.settings.client_id).close()  # its session
