"""Dead letters keep what the flow reads of its source, and replay gives it back: the
flows/iot-telemetry.flow case on the real Mosquitto and RabbitMQ, through `flowengine dlq`."""

from __future__ import annotations

import asyncio
import json

import orjson

from flowengine.deadletter.store import DeadLetterStore
from flowengine.runtime.engine import Engine
from flowengine.runtime.services import Services
from tests.conftest import compile_ok
from tests.connectors.amqp_helpers import broker, unique
from tests.connectors.mqtt_helpers import eventually, outside, uid
from tests.flowengine.test_cli import FLOWENGINE


def telemetry(prefix: str, exchange: str) -> str:
    """flows/iot-telemetry.flow, cut to what matters here: the topic names the device."""
    return f"""flow iot_telemetry {{
  source sensors      = mqtt.subscribe(topic: "{prefix}/+/+/reading", qos: 1)
  transform normalise = json.map {{
      device_id: attributes["mqtt.topic"].split("/")[2]
      site:      attributes["mqtt.topic"].split("/")[1]
      temp_c:    ((body.temp_f - 32) * 5 / 9) | round(2)
  }}
  sink archive        = amqp.publish(exchange: "{exchange}", declare_exchange: "topic", routing_key: "readings.{{{{ body.site }}}}")
  sink parked         = dead_letter()
  sensors -> normalise -> archive
  on error -> parked
}}
"""


async def dlq(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        FLOWENGINE, "dlq", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_unroutable_readings_are_parked_with_their_topic_and_replayed_with_it(tmp_path):
    state = tmp_path / "state.db"
    prefix, exchange, archive = f"sensors-{uid()}", unique("telemetry"), unique("archive")
    text = telemetry(prefix, exchange)
    engine = Engine(Services(state))
    await engine.deploy(compile_ok(text))
    store = DeadLetterStore(engine.services.store)
    with outside() as sensor:
        for i in range(3):
            sensor.publish(f"{prefix}/north/d-{i}/reading", orjson.dumps({"temp_f": 107.6 + i}))
        await eventually(lambda: store.count("iot_telemetry") == 3, what="3 parked readings")
    await engine.stop()
    engine.services.close()

    code, out, _ = await dlq("show", "iot_telemetry", "1", "--state", str(state), "--format", "json")
    (letter,) = json.loads(out)
    assert letter["message"]["attributes"]["mqtt.topic"] == f"{prefix}/north/d-0/reading"
    assert letter["message"]["body_text"] == '{"temp_f":107.6}'
    assert letter["error"]["message"].startswith("unroutable: no queue is bound")
    code, out, _ = await dlq("show", "iot_telemetry", "1", "--state", str(state))
    assert f"    mqtt.topic: {prefix}/north/d-0/reading\n" in out
    assert out.endswith('  body (16 bytes, text):\n    {"temp_f":107.6}\n')

    flow_file = tmp_path / "iot-telemetry.flow"
    flow_file.write_text(text)
    async with broker() as b:
        await b.queue(archive)
        await b.exchange(exchange)
        queue = await b.channel.get_queue(archive)
        await queue.bind(exchange, "readings.#")
        collector = await b.collect(archive)
        code, out, err = await dlq("replay", "iot_telemetry", "--flow-file", str(flow_file), "--state", str(state))
        assert (code, out) == (0, "3 selected: 3 delivered, 0 parked again, 0 still failing (left parked)\n"), err
        received = await collector.wait_count(3)
    readings = sorted((orjson.loads(m.body) for m in received), key=lambda r: r["device_id"])
    assert [(r["device_id"], r["site"]) for r in readings] == [("d-0", "north"), ("d-1", "north"), ("d-2", "north")]
    assert {m.routing_key for m in received} == {"readings.north"}
