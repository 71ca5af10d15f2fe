"""What every transport promises, checked the same way on each (real brokers, real sockets):
start and stop, many messages, concurrent senders, a bad payload taken by the error route,
and at-least-once settlement (a message whose flow failed is not lost: the broker redelivers
it, or the sender is told to retry). A new transport adds an adapter in `transports.py`.

The flow is `in -> check -> out` with `on error check -> failed`: `check` fails on a bad
payload; `out` records every attempt by key and fails the first attempt of the keys it is
told to (a failure without an error route, so the source must not settle the message).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import pytest

from connectors.memory import hub_of
from flowengine.compile.build import BuildContext
from flowengine.compile.compiler import compile_text
from flowengine.compile.registry import Registry, load_entry_points
from flowengine.compile.spec import KindSpec, Role
from flowengine.core.message import Message
from flowengine.core.nodes import AsyncNode
from flowengine.errors import DeliveryFailed
from flowengine.runtime.engine import Engine
from tests.conftest import eventually
from tests.connectors.conformance.transports import TRANSPORTS, Send, Transport

pytestmark = pytest.mark.broker

MANY = 200
_KEY = re.compile(rb"conf-(\d+)")


class Recorder(AsyncNode):
    """The sink: records each attempt's key; fails the first attempt of the keys in `fail_once`."""

    def __init__(self, name: str) -> None:
        super().__init__(name, "test.recorder")
        self.attempts: list[int] = []
        self.fail_once: set[int] = set()

    async def process(self, msg: Message) -> Message:
        match = _KEY.search(msg.body)
        assert match, f"no key in {msg.body[:80]!r}"
        key = int(match[1])
        self.attempts.append(key)
        if key in self.fail_once:
            self.fail_once.discard(key)
            raise DeliveryFailed("refused once, as the test asked")
        return msg

    def delivered(self) -> set[int]:
        return set(self.attempts)


RECORDERS: dict[str, Recorder] = {}


def _build_recorder(ctx: BuildContext) -> Recorder:
    RECORDERS[ctx.name] = Recorder(ctx.name)
    return RECORDERS[ctx.name]


def _registry() -> Registry:
    registry = load_entry_points(Registry())
    registry.register(KindSpec("test.recorder", Role.SINK, "records what arrives", _build_recorder))
    return registry


class Running:
    def __init__(self, engine: Engine, send: Send, out: Recorder) -> None:
        self.engine, self.send, self.out = engine, send, out

    def failed(self) -> list[Message]:
        return hub_of(self.engine.services).received("failed")


@pytest.fixture(params=TRANSPORTS, ids=lambda t: t.name)
async def running(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Transport, Running]]:
    transport: Transport = request.param()
    name = f"conf_{transport.name}_{transport.tag}"
    text = f"""flow {name} {{
  source in = {transport.source()}
  transform check = {transport.check}
  sink out = test.recorder()
  sink failed = memory.out()
  in -> check -> out
  on error check -> failed
}}"""
    result = compile_text(text, "conformance.flow", registry=_registry(), env={})
    assert result.ok, [d.message for d in result.diagnostics]
    (flow,) = result.flows
    engine = Engine()
    await engine.deploy(flow)
    async with transport.sender(engine) as send:  # the sender outlives the flow: its cleanup may drop a queue
        try:
            yield transport, Running(engine, send, RECORDERS["out"])
        finally:
            await engine.stop(drain_timeout=10)


async def test_start_deliver_stop_and_start_again(running: tuple[Transport, Running]) -> None:
    transport, r = running
    verdict = await r.send(transport.good(1))
    assert verdict in (True, None)
    await eventually(lambda: r.out.delivered() == {1}, what="message 1")
    await r.engine.stop(drain_timeout=10)
    assert r.engine.flows == {}


async def test_many_messages_arrive(running: tuple[Transport, Running]) -> None:
    transport, r = running
    for key in range(MANY):
        assert await r.send(transport.good(key)) in (True, None)
    await eventually(lambda: r.out.delivered() == set(range(MANY)), what=f"{MANY} messages")


async def test_concurrent_senders(running: tuple[Transport, Running]) -> None:
    transport, r = running
    verdicts = await asyncio.gather(*(r.send(transport.good(key)) for key in range(50)))
    assert all(v in (True, None) for v in verdicts)
    await eventually(lambda: r.out.delivered() == set(range(50)), what="50 concurrent messages")


async def test_a_bad_payload_goes_to_the_error_route(running: tuple[Transport, Running]) -> None:
    transport, r = running
    await r.send(transport.bad)
    await eventually(lambda: len(r.failed()) == 1, what="the bad payload on the error route")
    assert r.failed()[0].headers.get("error-node") == "check"
    await r.send(transport.good(7))  # the source goes on
    await eventually(lambda: r.out.delivered() == {7}, what="the next good message")
    assert len(r.failed()) == 1  # settled once handled: not delivered again


async def test_a_failed_message_is_not_lost(running: tuple[Transport, Running]) -> None:
    """At least once: the sink refuses the first attempt. A broker redelivers the message; a
    transport that answers its sender says it failed, and the sender sends it again."""
    transport, r = running
    r.out.fail_once.add(3)
    verdict = await r.send(transport.good(3))
    if transport.answers_sender:
        assert verdict is False
        assert await r.send(transport.good(3)) is True
    await eventually(lambda: r.out.attempts.count(3) == 2, what="the second attempt")
    assert r.out.attempts == [3, 3] and not r.failed()
