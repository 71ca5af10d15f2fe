"""The runtime over in-memory channels: routing, fan-out, errors, ack accounting, back pressure."""

from __future__ import annotations

import asyncio
import logging

import pytest

from connectors.memory import hub_of
from flowengine.compile.build import BuildContext
from flowengine.compile.compiler import compile_text
from flowengine.compile.registry import Registry, load_entry_points
from flowengine.compile.spec import KindSpec, Role
from flowengine.core.message import Message
from flowengine.core.nodes import AsyncNode
from flowengine.core.outcome import Outcome
from flowengine.errors import DeliveryFailed
from flowengine.runtime.engine import Engine
from tests.conftest import compile_ok, eventually


async def start(engine: Engine, text: str) -> None:
    await engine.deploy(compile_ok(text))


ROUTER = """
flow r {
  source in = memory.in()
  transform norm = json.map {
      device: body.device
      temp_c: ((body.temp_f - 32) * 5 / 9) | round(2)
      site: body.site
  }
  transform keep = json.map(mode: "merge") { kept: true }
  branch hot {
      when body.temp_c > 30 -> alert
      else -> normal
  }
  sink alert = memory.out()
  sink normal = memory.out()
  sink everything = memory.out()
  in -> norm -> keep -> hot
  keep -> everything
}
"""


async def test_chain_branch_and_fan_out(engine: Engine):
    await start(engine, ROUTER)
    hub = hub_of(engine.services)
    hot = await hub.send("in", {"device": "d1", "temp_f": 104, "site": "n"})
    cold = await hub.send("in", {"device": "d2", "temp_f": 50, "site": "n"})
    assert hot.ok and cold.ok
    assert [m.json for m in hub.received("alert")] == [{"device": "d1", "temp_c": 40.0, "site": "n", "kept": True}]
    assert [m.json["device"] for m in hub.received("normal")] == ["d2"]
    assert [m.json["device"] for m in hub.received("everything")] == ["d1", "d2"]
    stats = engine.flows["r"].stats
    assert (stats["in"].received, stats["alert"].received, stats["everything"].received) == (2, 1, 2)


async def test_filter_drops_and_counts_but_the_message_is_settled(engine: Engine):
    await start(
        engine,
        """
flow f {
  source in = memory.in()
  branch keep = filter(condition: "body.site != 'test'")
  sink out = memory.out()
  in -> keep -> out
}""",
    )
    hub = hub_of(engine.services)
    dropped = await hub.send("in", {"site": "test"})
    passed = await hub.send("in", {"site": "north"})
    assert dropped.ok and passed.ok
    assert len(hub.received("out")) == 1
    assert engine.flows["f"].stats["keep"].dropped == 1


ERRORS = """
flow e {
  source in = memory.in()
  transform parse = json.map { x: body.x }
  sink out = memory.out()
  sink errors = memory.out()
  in -> parse -> out
  on error parse -> errors
}
"""


async def test_bad_message_goes_to_the_error_route_with_error_headers(engine: Engine):
    await start(engine, ERRORS)
    hub = hub_of(engine.services)
    outcome = await hub.send("in", Message(b"not json", content_type="text/plain", id="m1"))
    assert outcome.ok and outcome.handled
    assert outcome.error is not None and outcome.error.status == 400
    (failed,) = hub.received("errors")
    assert failed.body == b"not json" and failed.id == "m1"
    assert failed.headers["error-node"] == "parse"
    assert failed.headers["error-type"] == "bad_message"
    assert failed.headers["error-message"].startswith("body is not valid JSON")
    assert failed.headers["error-attempts"] == "1"
    assert hub.received("out") == []


async def test_failure_without_error_route_is_not_ok_and_names_the_node(engine: Engine, caplog):
    await start(
        engine,
        """
flow e {
  source in = memory.in()
  transform calc = json.map { x: 1 / body.zero }
  sink out = memory.out()
  in -> calc -> out
}""",
    )
    hub = hub_of(engine.services)
    with caplog.at_level(logging.WARNING):
        outcome = await hub.send("in", {"zero": 0})
    assert not outcome.ok
    assert outcome.error is not None and outcome.error.node == "calc" and outcome.error.status == 500
    assert "division by zero" in outcome.error.message
    assert "flow e: node calc failed" in caplog.text and "not acknowledged" in caplog.text
    ok = await hub.send("in", {"zero": 2})  # the engine keeps serving
    assert ok.ok and hub.received("out")[0].json == {"x": 0.5}


class Gate(AsyncNode):
    """A sink that waits for the test to open it, or fails when told to."""

    def __init__(self, name: str) -> None:
        super().__init__(name, "test.gate")
        self.open_gate = asyncio.Event()
        self.waiting = 0
        self.fail = False

    async def process(self, msg: Message) -> Message:
        self.waiting += 1
        await self.open_gate.wait()
        if self.fail:
            raise DeliveryFailed("refused")
        return msg


GATES: dict[str, Gate] = {}


def build_gate(ctx: BuildContext) -> Gate:
    GATES[ctx.name] = Gate(ctx.name)
    return GATES[ctx.name]


def gate_registry() -> Registry:
    registry = load_entry_points(Registry())
    registry.register(KindSpec("test.gate", Role.SINK, "test gate", build_gate))
    return registry


async def test_back_pressure_bounds_in_flight_messages():
    engine = Engine(max_in_flight=4)
    text = "flow b {\n  source in = memory.in()\n  sink slow = test.gate()\n  in -> slow\n}"
    (flow,) = compile_text(text, "b.flow", registry=gate_registry(), env={}).flows
    await engine.deploy(flow)
    hub = hub_of(engine.services)
    posting = asyncio.create_task(_post_many(hub, 10))
    await eventually(lambda: GATES["slow"].waiting == 4, what="four messages at the closed gate")
    assert GATES["slow"].waiting == 4 and engine.flows["b"].in_flight == 4
    assert not posting.done()  # the fifth post waits for a free slot
    GATES["slow"].open_gate.set()
    await asyncio.wait_for(posting, 5)
    await engine.stop()
    assert [o.ok for o in hub.outcomes["in"]] == [True] * 10


async def _post_many(hub, n: int) -> None:
    for i in range(n):
        await hub.post("in", {"i": i})


async def test_multicast_is_all_or_nothing():
    engine = Engine()
    text = """flow m {
  source in = memory.in()
  branch fan = multicast()
  sink good = memory.out()
  sink bad = test.gate()
  in -> fan
  fan -> good
  fan -> bad
}"""
    (flow,) = compile_text(text, "m.flow", registry=gate_registry(), env={}).flows
    await engine.deploy(flow)
    GATES["bad"].fail = True
    GATES["bad"].open_gate.set()
    outcome = await hub_of(engine.services).send("in", {"a": 1})
    await engine.stop()
    assert not outcome.ok  # one arm failed: the source must not ack, even though 'good' got a copy
    assert outcome.error is not None and outcome.error.node == "bad"
    assert len(hub_of(engine.services).received("good")) == 1


async def test_stop_drains_in_flight_messages():
    engine = Engine()
    text = "flow d {\n  source in = memory.in()\n  sink slow = test.gate()\n  in -> slow\n}"
    (flow,) = compile_text(text, "d.flow", registry=gate_registry(), env={}).flows
    await engine.deploy(flow)
    hub = hub_of(engine.services)
    for i in range(3):
        await hub.post("in", {"i": i})
    stopping = asyncio.create_task(engine.stop(drain_timeout=5))
    await asyncio.sleep(0.1)  # not a wait for something: a window in which stop must NOT finish (a slow machine cannot fail it)
    assert not stopping.done()
    GATES["slow"].open_gate.set()
    await stopping
    outcomes: list[Outcome] = hub.outcomes["in"]
    assert len(outcomes) == 3 and all(o.ok for o in outcomes)


async def test_error_in_the_error_route_fails_the_message(engine: Engine):
    await start(
        engine,
        """
flow e {
  source in = memory.in()
  transform a = json.map { x: body.x }
  transform b = json.map { y: body.y }
  sink out = memory.out()
  in -> a -> out
  on error a -> b
  b -> out
}""",
    )
    outcome = await hub_of(engine.services).send("in", Message(b"<xml/>"))
    assert not outcome.ok  # b cannot read a non-JSON body either: nothing claims the message


async def test_duplicate_deploy_is_refused(engine: Engine):
    flow = compile_ok(ERRORS)
    await engine.deploy(flow)
    with pytest.raises(ValueError, match="already running"):
        await engine.deploy(flow)


async def test_oversized_message_goes_to_the_error_route_with_the_reason(engine: Engine):
    await start(engine, """
flow big {
  source in = memory.in(max_message_bytes: 16)
  sink out = memory.out()
  sink errors = memory.out()
  in -> out
  on error -> errors
}""")
    hub = hub_of(engine.services)
    assert (await hub.send("in", Message(b"small"))).ok
    outcome = await hub.send("in", Message(b"x" * 17))
    assert outcome.handled and outcome.error is not None and outcome.error.status == 413
    (refused,) = hub.received("errors")
    assert refused.headers["error-node"] == "in"
    assert refused.headers["error-message"] == "body of 17 bytes is over the limit of 16 bytes"
    assert [m.body for m in hub.received("out")] == [b"small"]
