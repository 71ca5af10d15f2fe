"""flows/lab-results.flow end to end: a real MLLP client, the real RabbitMQ and Mosquitto."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Iterator

import aio_pika
import orjson
import paho.mqtt.client as mqtt
import pytest

from flowengine.runtime.engine import Engine
from tests.conftest import REPO, compile_ok, eventually, free_port
from tests.connectors.test_mllp import client, oru

pytestmark = pytest.mark.broker

AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


class Alerts:
    """An MQTT subscriber on its own thread, collecting payloads."""

    def __init__(self, topic: str) -> None:
        self.payloads: list[bytes] = []
        self._subscribed = threading.Event()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
        self._client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.on_message = lambda _c, _u, m: self.payloads.append(m.payload)

    def __enter__(self) -> Alerts:
        self._client.connect("127.0.0.1", 1883)
        self._client.loop_start()
        assert self._subscribed.wait(10), "no SUBACK from Mosquitto"
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def names() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {"LAB_EHR_QUEUE": f"test.ehr.{tag}", "LAB_ALERT_TOPIC": f"test/lab/{tag}"}


@pytest.fixture
async def ehr_queue(names: dict[str, str]) -> AsyncIterator[aio_pika.abc.AbstractQueue]:
    connection = await aio_pika.connect(AMQP_URL)
    channel = await connection.channel()
    queue = await channel.declare_queue(names["LAB_EHR_QUEUE"], auto_delete=False)
    yield queue
    await queue.delete(if_unused=False, if_empty=False)
    await connection.close()


@pytest.fixture
def alerts(names: dict[str, str]) -> Iterator[Alerts]:
    with Alerts(names["LAB_ALERT_TOPIC"]) as subscriber:
        yield subscriber


def deployable(names: dict[str, str]) -> tuple[str, int]:
    port = free_port()
    text = (REPO / "flows/lab-results.flow").read_text().replace("port: 2575", f"port: {port}")
    return text, port


async def drain(queue: aio_pika.abc.AbstractQueue, count: int) -> list[dict[str, object]]:
    bodies: list[dict[str, object]] = []
    for _ in range(200):
        message = await queue.get(no_ack=True, fail=False)
        if message is None:
            if len(bodies) >= count:
                break
            await asyncio.sleep(0.05)
            continue
        bodies.append(orjson.loads(message.body))
    return bodies


async def test_results_reach_the_ehr_queue_and_urgent_ones_the_alert_topic(
    engine: Engine, names: dict[str, str], ehr_queue: aio_pika.abc.AbstractQueue, alerts: Alerts
) -> None:
    text, port = deployable(names)
    await engine.deploy(compile_ok(text, "lab-results.flow", env=names))
    routine, critical = oru("R"), oru("X").replace(b"||N\r", b"||HH\r")
    stat = oru("S").replace(b"OBR|1||RS|CBC\r", b"OBR|1||RS|CBC^Blood count|S\r")
    async with client(port) as c:
        acks = [await c.call(m) for m in (routine, critical, stat, b"MSH|^~\\&|LAB\rPID|1\r")]
    assert [(a["MSA-1"], a["MSA-2"]) for a in acks] == [("AA", "CR"), ("AA", "CX"), ("AA", "CS"), ("AE", None)]
    assert acks[0]["MSA-3"] == "results for PR received"
    ehr = await drain(ehr_queue, 3)
    assert [b["control_id"] for b in ehr] == ["CR", "CX", "CS"]
    assert ehr[1]["results"] == [
        {"code": "HGB", "name": None, "value": "13.5", "units": "g/dL", "range": None, "flag": "HH"}
    ]
    assert (ehr[1]["critical"], ehr[2]["stat"]) == (True, True)
    assert ehr[0]["hl7"]["segments"][1][3] == "PR"  # the whole message, losslessly, as JSON
    await eventually(lambda: len(alerts.payloads) >= 2, what="two alerts")
    sent = sorted((orjson.loads(p) for p in alerts.payloads), key=lambda a: a["patient"]["id"])
    assert [(a["patient"]["id"], a["stat"], len(a["critical"])) for a in sent] == [("PS", True, 0), ("PX", False, 1)]


async def test_a_missing_ehr_queue_is_answered_ar_so_the_lab_resends(engine: Engine, names: dict[str, str]) -> None:
    text, port = deployable(names)
    await engine.deploy(compile_ok(text, "lab-results.flow", env=names))  # the queue was never declared
    async with client(port) as c:
        ack = await c.call(oru("Q"))
    assert (ack["MSA-1"], ack["MSA-2"]) == ("AR", "CQ")
