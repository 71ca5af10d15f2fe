"""`mqtt.subscribe` / `mqtt.publish` against the real Mosquitto: round trips, failures, back pressure."""

from __future__ import annotations

import asyncio
import logging
import threading

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from connectors.mqtt.client import MqttClient
from connectors.mqtt.settings import BrokerUrl, Settings
from connectors.mqtt.subscribe import MqttSubscribe
from flowengine.errors import ConnectorError
from flowengine.runtime.engine import Engine
from tests.conftest import REPO, compile_ok
from tests.connectors.amqp_helpers import broker
from tests.connectors.mqtt_helpers import Outside, eventually, node_of, outside, running, uid

pytestmark = pytest.mark.broker

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def relay_flow(t: str, *, qos: int = 1, protocol: str = "5") -> str:
    return f"""
flow relay_{t} {{
  source inp = mqtt.subscribe(topic: "fe/{t}/in/+", qos: {qos}, protocol: "{protocol}")
  transform shape = json.map {{
      device_id: body.device
      temp_c:    ((body.temp_f - 32) * 5 / 9) | round(2)
      topic:     attributes["mqtt.topic"]
      attempt:   attempt
  }}
  sink out = mqtt.publish(topic: "fe/{t}/out/{{{{ body.device_id }}}}", qos: {qos}, protocol: "{protocol}")
  inp -> shape -> out
}}
"""


@pytest.mark.parametrize("qos", [0, 1, 2])
async def test_mqtt_to_mqtt_carries_content_user_properties_and_trace(qos: int) -> None:
    t = uid()
    with outside() as world:
        world.subscribe(f"fe/{t}/out/#", qos=2)
        async with running(compile_ok(relay_flow(t, qos=qos))):
            world.publish(f"fe/{t}/in/north", b'{"device": "d-17", "temp_f": 71.6}', qos,
                          user=[("x-tenant", "acme"), ("traceparent", TRACEPARENT)], content_type="application/json")
            (out,) = await world.wait_for(1, f"fe/{t}/out/")
    assert out.topic == f"fe/{t}/out/d-17"
    assert orjson.loads(out.payload) == {"device_id": "d-17", "temp_c": 22.0, "topic": f"fe/{t}/in/north", "attempt": 1}
    assert out.qos == qos
    assert out.properties.ContentType == "application/json"
    assert dict(out.properties.UserProperty) == {"x-tenant": "acme", "traceparent": TRACEPARENT}


async def test_mqtt_3_1_1_round_trip() -> None:
    t = uid()
    with outside(protocol=mqtt.MQTTv311) as world:
        world.subscribe(f"fe/{t}/out/#")
        async with running(compile_ok(relay_flow(t, protocol="3.1.1"))):
            world.publish(f"fe/{t}/in/x", b'{"device": "d-3", "temp_f": 32}')
            (out,) = await world.wait_for(1, f"fe/{t}/out/")
    assert orjson.loads(out.payload)["temp_c"] == 0


async def test_user_properties_option_selects_headers() -> None:
    t = uid()
    flow = compile_ok(f"""
flow pick_{t} {{
  source inp = mqtt.subscribe(topic: "fe/{t}/in")
  sink out = mqtt.publish(topic: "fe/{t}/out", user_properties: ["x-keep"])
  inp -> out
}}""")
    with outside() as world:
        world.subscribe(f"fe/{t}/out")
        async with running(flow):
            world.publish(f"fe/{t}/in", b"raw", user=[("x-keep", "1"), ("x-drop", "2"), ("traceparent", TRACEPARENT)])
            (out,) = await world.wait_for(1, f"fe/{t}/out")
    assert out.payload == b"raw"
    assert dict(out.properties.UserProperty) == {"x-keep": "1", "traceparent": TRACEPARENT}
    assert out.properties.ContentType == "application/octet-stream"


async def test_non_json_input_goes_to_the_error_route_and_the_consumer_goes_on() -> None:
    t = uid()
    flow = compile_ok(f"""
flow bad_{t} {{
  source inp = mqtt.subscribe(topic: "fe/{t}/in")
  transform shape = json.map {{ v: body.v }}
  sink out = mqtt.publish(topic: "fe/{t}/out")
  sink errors = mqtt.publish(topic: "fe/{t}/errors")
  inp -> shape -> out
  on error -> errors
}}""")
    with outside() as world:
        world.subscribe(f"fe/{t}/#")
        async with running(flow):
            world.publish(f"fe/{t}/in", b"this is not json")
            world.publish(f"fe/{t}/in", b'{"v": 1}')
            (bad,) = await world.wait_for(1, f"fe/{t}/errors")
            (good,) = await world.wait_for(1, f"fe/{t}/out")
            source = node_of(flow, "inp")
            assert isinstance(source, MqttSubscribe)
            await eventually(lambda: source.stats.acked == 2, what="both inputs acknowledged")
    assert bad.payload == b"this is not json"
    headers = dict(bad.properties.UserProperty)
    assert headers["error-node"] == "shape"
    assert headers["error-type"] == "bad_message"
    assert "not valid JSON" in headers["error-message"]
    assert orjson.loads(good.payload) == {"v": 1}


async def test_a_failing_sink_leaves_the_input_unacknowledged_until_it_is_redelivered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    t = uid()
    client_id = f"fe-test-{t}"
    flow = compile_ok(f"""
flow failing_{t} {{
  source inp = mqtt.subscribe(topic: "fe/{t}/in", client_id: "{client_id}")
  sink out = mqtt.publish(topic: "fe/{t}/out/{{{{ body.kind }}}}")
  inp -> out
}}""")
    source = node_of(flow, "inp")
    assert isinstance(source, MqttSubscribe)
    caplog.set_level(logging.INFO)
    with outside() as world:
        world.subscribe(f"fe/{t}/out/#")
        async with running(flow):
            world.publish(f"fe/{t}/in", b'{"kind": "#"}')  # a wildcard topic: the sink refuses it
            world.publish(f"fe/{t}/in", b'{"kind": "ok"}')
            await world.wait_for(1, f"fe/{t}/out/")  # the flow goes on with other messages
            await eventually(lambda: source.stats.retries >= 1, what="a retry of the failed message")
            assert source.stats.acked == 1
            # The connection drops: the broker still holds the unacknowledged message and sends it again.
            assert source.client is not None
            source.client.sever()
            await eventually(lambda: source.stats.duplicates >= 1, what="the broker's redelivery (dup)")
            assert source.stats.acked == 1
    failures = [r for r in caplog.records if r.levelno == logging.WARNING and "failed on message" in r.getMessage()]
    assert failures and f"flow failing_{t}" in failures[0].getMessage()
    assert "node out" in failures[0].getMessage() and "cannot publish to topic" in failures[0].getMessage()
    # The engine is gone; its session still holds the message: whoever resumes the session receives it.
    with outside(client_id=client_id, clean_start=False) as heir:
        await heir.wait_for(1, f"fe/{t}/in")
        assert heir.session_present
    assert heir.received[0].payload == b'{"kind": "#"}'
    assert heir.received[0].dup  # (the heir's session expiry is 0: the session ends with it)


@pytest.mark.parametrize("qos", [0, 1])
async def test_in_flight_messages_are_bounded_by_max_in_flight(qos: int) -> None:
    t = uid()
    flow = compile_ok(f"""
flow bounded_{t} {{
  source inp = mqtt.subscribe(topic: "fe/{t}/in", qos: {qos}, max_in_flight: 4)
  sink out = mqtt.publish(topic: "fe/{t}/out", connect_wait: 0)
  inp -> out
}}""")
    source = node_of(flow, "inp")
    sink = node_of(flow, "out")
    assert isinstance(source, MqttSubscribe)
    with outside() as world:
        world.subscribe(f"fe/{t}/out")
        async with running(flow):
            # Hold the sink back by pausing its own connection's reads: no PUBACK arrives.
            sink.client.pause_reading()  # type: ignore[attr-defined]
            for i in range(40):
                world.publish(f"fe/{t}/in", b"%d" % i, qos=qos)
            await eventually(lambda: source.stats.received >= 4, what="four messages in flight")
            await asyncio.sleep(0.5)  # a window, not a wait: no fifth message may arrive in it
            # The rest waits in the broker (QoS 1: Receive Maximum; QoS 0: unread socket), not in memory.
            assert source.stats.received == 4
            sink.client.resume_reading()  # type: ignore[attr-defined]
            await world.wait_for(40, f"fe/{t}/out", timeout=20)
    assert sorted(int(p) for p in world.payloads(f"fe/{t}/out")) == list(range(40))


async def test_first_connect_fails_fast_with_a_clear_message() -> None:
    flow = compile_ok("""
flow nobroker {
  source inp = mqtt.subscribe(topic: "x", url: "mqtt://user:s3cret@127.0.0.1:1")
  sink out = log()
  inp -> out
}""")
    with pytest.raises(ConnectorError) as err:
        await Engine().deploy(flow)
    assert "cannot connect to MQTT broker mqtt://user:***@127.0.0.1:1: connection refused" in str(err.value)
    assert "s3cret" not in str(err.value)


async def test_pause_leaves_messages_with_the_broker_and_resume_takes_them() -> None:
    t = uid()
    flow = compile_ok(relay_flow(t))
    with outside() as world:
        world.subscribe(f"fe/{t}/out/#")
        async with running(flow) as (engine,):
            runtime = engine.flows[flow.name]
            world.publish(f"fe/{t}/in/a", b'{"device": "before", "temp_f": 50}')
            await world.wait_for(1, f"fe/{t}/out/")
            await runtime.pause()
            world.publish(f"fe/{t}/in/a", b'{"device": "paused", "temp_f": 50}')
            await asyncio.sleep(0.5)  # a window, not a wait: the paused flow must not take the message in it
            assert len(world.payloads(f"fe/{t}/out/")) == 1  # the persistent session holds it meanwhile
            await runtime.resume()
            (_, later) = await world.wait_for(2, f"fe/{t}/out/")
    assert later.topic == f"fe/{t}/out/paused"


async def test_mqtt_to_amqp_carries_content_headers_and_trace() -> None:
    t = uid()
    queue = f"test.mqtt.{t}"
    flow = compile_ok(f"""
flow bridge_{t} {{
  source inp = mqtt.subscribe(topic: "fe/{t}/in/+")
  transform shape = json.map {{ device_id: body.device; site: attributes["mqtt.topic"].split("/")[-1] }}
  sink archive = amqp.publish(routing_key: "{queue}")
  inp -> shape -> archive
}}""")
    async with broker() as b:
        got = await b.collect(await b.queue(queue))
        with outside() as world:
            async with running(flow):
                world.publish(f"fe/{t}/in/north", b'{"device": "d-9"}',
                              user=[("x-tenant", "acme"), ("traceparent", TRACEPARENT), ("message-id", "m-1")])
                (out,) = await got.wait_count(1)
    assert orjson.loads(out.body) == {"device_id": "d-9", "site": "north"}
    assert out.content_type == "application/json"
    assert out.message_id == "m-1"
    assert out.headers["traceparent"] == TRACEPARENT
    assert out.headers["x-tenant"] == "acme"


async def test_example_flow_iot_telemetry_alerts_and_archives() -> None:
    site = f"site{uid()}"
    flow = compile_ok((REPO / "flows/iot-telemetry.flow").read_text(), "iot-telemetry.flow")
    source = node_of(flow, "sensors")
    assert isinstance(source, MqttSubscribe)
    async with broker() as b:
        with outside() as world:
            world.subscribe(f"alerts/{site}/#")
            async with running(flow):
                queue = await b.queue(f"test.iot.{site}")
                await (await b.channel.get_queue(queue)).bind("telemetry", f"readings.{site}")
                archived = await b.collect(queue)
                world.publish(f"sensors/{site}/d-1/reading", b'{"temp_f": 71.6, "humidity": 40, "ts": 1}')
                world.publish(f"sensors/{site}/d-2/reading", b'{"temp_f": 107.6, "humidity": 10, "ts": 2}')
                (alert,) = await world.wait_for(1, f"alerts/{site}/")
                await archived.wait_count(2)
    assert alert.topic == f"alerts/{site}/d-2"
    assert orjson.loads(alert.payload) == {"device_id": "d-2", "site": site, "temp_c": 42.0, "humidity": 10,
                                           "measured_at": 2, "alert": "too hot"}
    assert sorted(orjson.loads(m.body)["device_id"] for m in archived.messages) == ["d-1", "d-2"]
    Outside(client_id=source.settings.client_id, clean_start=True).close()  # end the engine's session


async def test_a_qos_2_message_handed_over_before_a_restart_is_completed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="flowengine.mqtt")
    t = uid()
    client_id = f"fe-test-{t}"
    # A previous run took a QoS 2 message (PUBREC sent, PUBREL received) and died before its PUBCOMP.
    crashed = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5,
                          manual_ack=True)
    got: list[mqtt.MQTTMessage] = []
    crashed.on_message = lambda _c, _u, m: got.append(m)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 300
    crashed.connect("127.0.0.1", 1883, clean_start=False, properties=props)
    subscribed = threading.Event()
    crashed.on_subscribe = lambda *_: subscribed.set()
    crashed.loop_start()
    crashed.subscribe(f"fe/{t}/in", 2)
    await eventually(subscribed.is_set, what="the first run's SUBACK")
    with outside() as world:
        world.publish(f"fe/{t}/in", b"handed over", qos=2)
        await eventually(lambda: bool(got), what="the first run's QoS 2 message")
        crashed.disconnect()
        crashed.loop_stop()
        world.subscribe(f"fe/{t}/out")
        flow = compile_ok(f"""
flow qos2_{t} {{
  source inp = mqtt.subscribe(topic: "fe/{t}/in", qos: 2, client_id: "{client_id}")
  sink out = mqtt.publish(topic: "fe/{t}/out", qos: 2)
  inp -> out
}}""")
        async with running(flow):
            await eventually(lambda: "completed QoS 2 message" in caplog.text, what="the stale PUBREL completed")
            world.publish(f"fe/{t}/in", b"after the restart", qos=2)
            (out,) = await world.wait_for(1, f"fe/{t}/out")
    assert out.payload == b"after the restart"
    Outside(client_id=client_id, clean_start=True).close()  # end the session


class _Recorder:
    """A bare MqttClient handler: subscribes, records, acknowledges only when told."""

    def __init__(self, topic: str) -> None:
        self.topic, self.got = topic, []

    def message(self, packet: object) -> None:
        self.got.append(packet)

    async def ready(self, client: MqttClient, session_present: bool) -> None:
        if not session_present:
            await client.subscribe(self.topic, 2)

    def lost(self) -> None:
        pass


async def test_a_qos_2_message_cut_off_before_the_flow_finished_comes_again() -> None:
    """PUBREC goes out only when the flow is done, so a connection lost before that leaves the
    message itself with the broker (paho would have sent PUBREC on arrival, and the broker would
    then only repeat the PUBREL: a crash there loses the message). After the PUBREC the exchange
    completes and nothing comes again."""
    t = uid()
    recorder = _Recorder(f"fe/{t}/in")
    settings = Settings(url=BrokerUrl.parse("mqtt://127.0.0.1:1883"), client_id=f"fe-test-{t}", clean_start=False,
                        session_expiry=300)
    client = MqttClient(settings, "qos2 test", recorder)
    await client.connect()
    try:
        with outside() as world:
            world.publish(f"fe/{t}/in", b"keep me", qos=2)
            await eventually(lambda: len(recorder.got) == 1, what="the QoS 2 message")
            client.sever()  # as a crash would, before the flow acknowledged it
            await eventually(lambda: len(recorder.got) == 2, what="the message sent again")
            again = recorder.got[1]
            assert (again.payload, again.qos, again.dup, client.generation) == (b"keep me", 2, True, 2)
            client.ack(again.mid, 2)
            await eventually(lambda: not client._pubrecs, what="the broker's PUBREL")  # PUBREC -> PUBREL -> PUBCOMP
            client.sever()
            await eventually(lambda: client.generation == 3 and client.connected, what="the third connection")
            await asyncio.sleep(0.5)  # a window, not a wait: nothing may come again in it
            assert len(recorder.got) == 2
    finally:
        await client.close()
        Outside(client_id=settings.client_id, clean_start=True).close()  # end the session
