"""Helpers for the pattern tests: engines on a state file (to restart), and a sink the test controls."""

from __future__ import annotations

import asyncio
from pathlib import Path

from connectors.memory import MemoryHub, hub_of
from flowengine.compile.build import BuildContext
from flowengine.compile.compiler import compile_text
from flowengine.compile.graph import CompiledFlow
from flowengine.compile.registry import Registry, load_entry_points
from flowengine.compile.spec import KindSpec, Role
from flowengine.core.message import Message
from flowengine.core.nodes import AsyncNode
from flowengine.errors import DeliveryFailed
from flowengine.runtime.engine import Engine
from flowengine.runtime.services import Services
from tests.conftest import REPO
from tests.conftest import eventually as until  # noqa: F401  (the pattern tests import it from here)


class Switch(AsyncNode):
    """A sink that refuses while `failing` is set and waits while `gate` is closed."""

    def __init__(self, name: str) -> None:
        super().__init__(name, "test.switch")
        self.failing = False
        self.gate = asyncio.Event()
        self.gate.set()
        self.seen: list[Message] = []

    async def process(self, msg: Message) -> Message:
        await self.gate.wait()
        if self.failing:
            raise DeliveryFailed("switched off")
        self.seen.append(msg)
        return msg


SWITCHES: dict[str, Switch] = {}


def _build_switch(ctx: BuildContext) -> Switch:
    SWITCHES[ctx.name] = Switch(ctx.name)
    return SWITCHES[ctx.name]


def registry() -> Registry:
    reg = load_entry_points(Registry())
    reg.register(KindSpec("test.switch", Role.SINK, "a sink the test switches", _build_switch))
    return reg


def compile_text_ok(text: str) -> CompiledFlow:
    """Compile `text` (one flow, test kinds included), which must have no errors."""
    result = compile_text(text, "test.flow", registry=registry(), env={}, base_dir=REPO / "flows")
    assert result.ok, "\n".join(d.render(text) for d in result.diagnostics)
    return result.flows[0]


async def start(text: str, state: Path | None = None) -> tuple[Engine, MemoryHub]:
    """Compile `text` (one flow) and run it on a fresh engine whose store is `state`."""
    engine = Engine(Services(state) if state else None)
    await engine.deploy(compile_text_ok(text))
    return engine, hub_of(engine.services)


async def stop(engine: Engine) -> None:
    await engine.stop(drain_timeout=5)
    engine.services.close()


def rows(engine: Engine, sql: str, *params: object) -> list[tuple[object, ...]]:
    return [tuple(r) for r in engine.services.store.query(sql, params)]
