"""One adapter per transport for the conformance suite: how a flow reads from it and how the
outside world sends into it. The flow around the source and what is checked are the suite's,
the same for every transport.

An adapter gives the source node's text, a `check` transform that fails on a bad payload,
the bytes of good message `key` and of a bad one, and `sender(engine)`: an async context in
which `send(body)` hands one message to the transport as a real client would. A transport
that answers its sender (memory, HTTP, MLLP) returns the verdict (True: accepted, False: the
sender must retry); a broker returns None once it holds the message (it redelivers itself).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson

from connectors.memory import hub_of
from flowengine.core.message import Message
from flowengine.runtime.engine import Engine
from tests.conftest import eventually, free_port, serving
from tests.connectors.amqp_helpers import broker
from tests.connectors.mqtt_helpers import outside
from tests.connectors.test_mllp import client, oru

Send = Callable[[bytes], Awaitable[bool | None]]


class Transport:
    """A JSON-carrying transport; subclasses say how to reach it."""

    name = ""
    answers_sender = False
    check = "json.map { id: body.id }"  # a body that is not JSON fails here (BadMessage)
    bad = b"{this is not json"

    def __init__(self) -> None:
        self.tag = uuid.uuid4().hex[:10]

    def source(self) -> str:
        raise NotImplementedError

    def good(self, key: int) -> bytes:
        return orjson.dumps({"id": f"conf-{key}"})

    def sender(self, engine: Engine) -> contextlib.AbstractAsyncContextManager[Send]:
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.name


class Memory(Transport):
    name = "memory"
    answers_sender = True

    def source(self) -> str:
        return "memory.in()"

    @contextlib.asynccontextmanager
    async def sender(self, engine: Engine) -> AsyncIterator[Send]:
        hub = hub_of(engine.services)

        async def send(body: bytes) -> bool:
            return (await hub.send("in", Message(body, content_type="application/json"))).ok

        yield send


class Http(Transport):
    name = "http"
    answers_sender = True

    def source(self) -> str:
        return f'http.listen(path: "/conf/{self.tag}")'

    @contextlib.asynccontextmanager
    async def sender(self, engine: Engine) -> AsyncIterator[Send]:
        async with serving(engine) as http:

            async def send(body: bytes) -> bool:
                resp = await http.post(f"/conf/{self.tag}", content=body,
                                       headers={"content-type": "application/json"})
                return resp.status_code < 300

            yield send


class Mllp(Transport):
    """HL7 v2 over MLLP: the good messages are ORU^R01 with control id conf-KEY."""

    name = "mllp"
    answers_sender = True
    check = "hl7.validate()"
    bad = b"this is not HL7"

    def __init__(self) -> None:
        super().__init__()
        self.port = free_port()

    def source(self) -> str:
        return f"mllp.listen(port: {self.port})"

    def good(self, key: int) -> bytes:
        return oru(f"conf-{key}")

    @contextlib.asynccontextmanager
    async def sender(self, engine: Engine) -> AsyncIterator[Send]:
        async def send(body: bytes) -> bool:
            async with client(self.port) as c:  # a connection per message: concurrent senders
                return (await c.call(body))["MSA-1"] == "AA"

        yield send


class Amqp(Transport):
    name = "amqp"

    def source(self) -> str:
        return f'amqp.consume(queue: "test.conf.{self.tag}", durable: false, requeue_delay: 0.05)'

    @contextlib.asynccontextmanager
    async def sender(self, engine: Engine) -> AsyncIterator[Send]:
        queue = f"test.conf.{self.tag}"
        async with broker() as b:
            b.queues_to_delete.append(queue)  # the flow declared it

            async def send(body: bytes) -> None:
                await b.publish(queue, body, content_type="application/json")

            yield send


class Mqtt(Transport):
    name = "mqtt"

    def source(self) -> str:
        return f'mqtt.subscribe(topic: "fe/conf/{self.tag}", qos: 1, clean_start: true)'

    @contextlib.asynccontextmanager
    async def sender(self, engine: Engine) -> AsyncIterator[Send]:
        with outside() as world:

            async def send(body: bytes) -> None:
                info = world.publish(f"fe/conf/{self.tag}", body, qos=1)
                await eventually(info.is_published, what="the broker's PUBACK")

            yield send


TRANSPORTS: list[type[Transport]] = [Memory, Http, Mllp, Amqp, Mqtt]
