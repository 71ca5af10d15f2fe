"""connectors/mqtt settings and topic rules, and how the compiler reports them (no broker needed)."""

from __future__ import annotations

import pytest

from connectors.mqtt.settings import BrokerUrl, resolve_url, subscriber_client_id
from connectors.mqtt.subscribe import MqttSubscribe
from connectors.mqtt.topics import filter_problem, topic_problem
from flowengine.compile.compiler import compile_text
from tests.conftest import compile_ok


def test_broker_url_parts_and_masking() -> None:
    url = BrokerUrl.parse("mqtts://engine:p%40ss@broker.example.com")
    assert (url.host, url.port, url.tls, url.username, url.password) == ("broker.example.com", 8883, True, "engine",
                                                                         "p@ss")
    assert url.masked() == "mqtts://engine:***@broker.example.com:8883"
    assert BrokerUrl.parse("mqtt://127.0.0.1:1884").masked() == "mqtt://127.0.0.1:1884"


@pytest.mark.parametrize(("url", "problem"), [
    ("amqp://x", "scheme must be mqtt:// or mqtts://"),
    ("mqtt://", "names no host"),
    ("mqtt://h/path", "no path or query"),
    ("mqtt://h:99999", "bad port"),
])
def test_bad_broker_urls(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        BrokerUrl.parse(url)


def test_url_from_option_then_environment_then_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOWENGINE_MQTT_URL", raising=False)
    assert resolve_url(None) == "mqtt://127.0.0.1:1883"
    monkeypatch.setenv("FLOWENGINE_MQTT_URL", "mqtt://elsewhere:1883")
    assert resolve_url(None) == "mqtt://elsewhere:1883"
    assert resolve_url("mqtt://mine") == "mqtt://mine"


@pytest.mark.parametrize(("topic", "problem"), [
    ("sensors/+/temp", None),
    ("sensors/#", None),
    ("#", None),
    ("$share/workers/orders/#", None),
    ("sensors/#/temp", "'#' must be a whole level and the last one"),
    ("sensors/te+mp", "'+' must be a whole level"),
    ("$share/a+b/x", "group name free of '+' and '#'"),
    ("$share/group", "needs a filter after the group"),
])
def test_filter_rules(topic: str, problem: str | None) -> None:
    found = filter_problem(topic)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_topic_rules() -> None:
    assert topic_problem("alerts/d-1") is None
    assert "wildcards" in (topic_problem("alerts/+") or "")
    assert "empty" in (topic_problem("") or "")


def test_client_id_is_stable_and_depends_on_instance_and_topic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWENGINE_INSTANCE", "worker-1")
    first = subscriber_client_id("iot", "sensors", "a/#")
    assert first == subscriber_client_id("iot", "sensors", "a/#") and first.startswith("fe-iot-sensors-")
    assert subscriber_client_id("iot", "sensors", "b/#") != first
    monkeypatch.setenv("FLOWENGINE_INSTANCE", "worker-2")
    assert subscriber_client_id("iot", "sensors", "a/#") != first


def test_defaults_persistent_session_for_qos_1_and_clean_for_qos_0() -> None:
    flow = compile_ok("""
flow s {
  source q1 = mqtt.subscribe(topic: "a")
  source q0 = mqtt.subscribe(topic: "b", qos: 0, max_in_flight: 8)
  sink out = log()
  q1 -> out
  q0 -> out
}""")
    q1, q0 = flow.info("q1").runtime, flow.info("q0").runtime
    assert isinstance(q1, MqttSubscribe) and isinstance(q0, MqttSubscribe)
    assert (q1.settings.clean_start, q1.settings.session_expiry, q1.settings.receive_maximum) == (False, 3600, 256)
    assert (q0.settings.clean_start, q0.settings.session_expiry, q0.settings.receive_maximum) == (True, 0, 8)


@pytest.mark.parametrize(("options", "message"), [
    ('topic: "a/#/b"', "bad topic filter 'a/#/b': '#' must be a whole level and the last one"),
    ('topic: "a", url: "mqtt://h/x"', "bad MQTT broker URL: an MQTT URL has no path or query"),
    ('topic: "a", qos: 3', "option 'qos' of 'mqtt.subscribe'"),
    ('topik: "a"', "option 'topik' not recognised by 'mqtt.subscribe'; did you mean 'topic'?"),
])
def test_subscribe_option_errors(options: str, message: str) -> None:
    text = f"flow f {{\n  source s = mqtt.subscribe({options})\n  sink out = log()\n  s -> out\n}}\n"
    messages = [d.message for d in compile_text(text, "f.flow", env={}).diagnostics]
    assert any(message in m for m in messages), messages


def test_a_wildcard_in_a_fixed_publish_topic_is_a_compile_error() -> None:
    text = 'flow f {\n  source s = memory.in()\n  sink out = mqtt.publish(topic: "alerts/#")\n  s -> out\n}\n'
    messages = [d.message for d in compile_text(text, "f.flow", env={}).diagnostics]
    assert "bad topic 'alerts/#': a topic to publish to cannot hold the wildcards '+' or '#'" in messages


def test_the_url_is_a_secret_in_displayed_options() -> None:
    flow = compile_ok("""
flow f {
  source s = memory.in()
  sink out = mqtt.publish(topic: "a", url: "mqtt://u:${PASSWORD}@h")
  s -> out
}""", env={"PASSWORD": "hunter2"})
    assert flow.info("out").display_options["url"] == "***"
