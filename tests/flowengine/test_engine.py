"""The engine: pause/resume, hot replacement without loss, route ownership, late emission."""

from __future__ import annotations

import asyncio

import pytest

from connectors.memory import hub_of
from flowengine.compile.build import BuildContext
from flowengine.compile.compiler import compile_text
from flowengine.compile.registry import Registry, load_entry_points
from flowengine.compile.spec import KindSpec, Role
from flowengine.core.message import Message
from flowengine.core.nodes import Emit, Transform
from flowengine.endpoints.routes import RouteConflict
from flowengine.runtime.engine import Engine
from tests.conftest import compile_ok, eventually


def version(tag: str) -> str:
    return f"""
flow v {{
  source in = http.listen(path: "/v")
  transform tag = json.map(mode: "merge") {{ version: "{tag}" }}
  sink out = http.reply()
  in -> tag -> out
}}"""


async def test_replace_swaps_http_endpoint_without_a_failed_request(engine, http_server):
    await engine.deploy(compile_ok(version("1")))
    stop = asyncio.Event()
    seen: list[int | str] = []

    async def client() -> None:
        i = 0
        while not stop.is_set():
            resp = await http_server.post("/v", json={"i": i})
            seen.append(resp.json()["version"] if resp.status_code == 200 else resp.status_code)
            i += 1

    clients = [asyncio.create_task(client()) for _ in range(4)]
    await eventually(lambda: seen.count("1") >= 8, what="answers from version 1")
    await engine.replace(compile_ok(version("2")))
    await eventually(lambda: seen[-8:] == ["2"] * 8, what="version 2 answering every request")
    stop.set()
    await asyncio.gather(*clients)
    assert set(seen) == {"1", "2"}  # every request answered by one version or the other, none failed
    assert seen.index("2") > 0


async def test_another_flow_cannot_take_a_served_route(engine):
    await engine.deploy(compile_ok(version("1")))
    other = version("x").replace("flow v", "flow other")
    with pytest.raises(RouteConflict, match="already served by flow 'v'"):
        await engine.deploy(compile_ok(other))


async def test_pause_stops_consuming_and_resume_restarts(engine):
    await engine.deploy(compile_ok("flow p {\n  source in = memory.in()\n  sink out = memory.out()\n  in -> out\n}"))
    hub = hub_of(engine.services)
    assert (await hub.send("in", {"a": 1})).ok
    await engine.flows["p"].pause()
    with pytest.raises(LookupError, match=r"no running memory\.in source"):
        await hub.send("in", {"a": 2})
    await engine.flows["p"].resume()
    assert (await hub.send("in", {"a": 3})).ok
    assert [m.json["a"] for m in hub.received("out")] == [1, 3]


class Holder(Transform):
    """Keeps every message and releases them on demand through its emit function."""

    def __init__(self, name: str) -> None:
        super().__init__(name, "test.hold")
        self.emit: Emit | None = None
        self.held: list[Message] = []

    def attach(self, emit: Emit) -> None:
        self.emit = emit

    def process(self, msg: Message) -> None:
        self.held.append(msg)
        return None


HOLDERS: dict[str, Holder] = {}


def build_holder(ctx: BuildContext) -> Holder:
    HOLDERS[ctx.name] = Holder(ctx.name)
    return HOLDERS[ctx.name]


async def test_a_node_can_emit_later_and_gets_the_outcome():
    registry = load_entry_points(Registry())
    registry.register(KindSpec("test.hold", Role.TRANSFORM, "holds", build_holder))
    text = "flow h {\n  source in = memory.in()\n  transform hold = test.hold()\n  sink out = memory.out()\n  in -> hold -> out\n}"
    (flow,) = compile_text(text, "h.flow", registry=registry, env={}).flows
    engine = Engine()
    await engine.deploy(flow)
    hub = hub_of(engine.services)
    await hub.send("in", {"n": 1})
    await hub.send("in", {"n": 2})
    holder = HOLDERS["hold"]
    assert hub.received("out") == [] and holder.emit is not None
    combined = Message(json=[m.json["n"] for m in holder.held])
    outcome = await holder.emit(combined)
    await engine.stop()
    assert outcome.ok
    assert [m.json for m in hub.received("out")] == [[1, 2]]


async def test_a_failed_replacement_leaves_the_old_version_serving(engine, http_server):
    await engine.deploy(compile_ok(version("1")))
    await engine.deploy(compile_ok("flow other {\n  source in = memory.in(channel: \"taken\")\n  sink out = memory.out()\n  in -> out\n}"))
    broken = version("2").replace("  sink out = http.reply()", '  sink out = http.reply()\n  source more = memory.in(channel: "taken")\n  sink side = memory.out()\n  more -> side')
    with pytest.raises(ValueError, match="already has a source"):
        await engine.replace(compile_ok(broken))  # its http.listen took /v over, then memory.in failed
    resp = await http_server.post("/v", json={})
    assert resp.status_code == 200 and resp.json()["version"] == "1"
