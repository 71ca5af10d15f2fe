"""In-process channels: `memory.in` and `memory.out`, for flow unit tests and embedding.

A `MemoryHub` (one per engine) connects them to the host program: `send`
hands a message to a `memory.in` source and returns its `Outcome` once every
path finished; `post` does the same without waiting (back pressure applies);
`received` lists what reached a `memory.out` channel, and `wait_for` awaits a
count. Not a substitute for broker tests: nothing here crosses a process.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from flowengine.plugin import (
    AsyncNode,
    BuildContext,
    Field,
    KindSpec,
    Message,
    Outcome,
    Registry,
    Role,
    Source,
    SourceContext,
)

if TYPE_CHECKING:  # memory registers eagerly: the engine's services load only when a flow runs
    from flowengine.plugin import Services


class MemoryHub:
    def __init__(self) -> None:
        self._inputs: dict[str, SourceContext] = {}
        self._outputs: dict[str, list[Message]] = {}
        self._changed = asyncio.Condition()
        self.outcomes: dict[str, list[Outcome]] = {}

    def bind(self, channel: str, ctx: SourceContext) -> None:
        """Attach a source; a new version of the same flow takes the channel over."""
        current = self._inputs.get(channel)
        if current is not None and current.flow != ctx.flow:
            raise ValueError(f"memory channel '{channel}' already has a source in flow '{current.flow}'")
        self._inputs[channel] = ctx

    def unbind(self, channel: str, ctx: SourceContext) -> None:
        if self._inputs.get(channel) is ctx:
            del self._inputs[channel]

    def _source(self, channel: str) -> SourceContext:
        try:
            return self._inputs[channel]
        except KeyError:
            raise LookupError(f"no running memory.in source on channel '{channel}'") from None

    async def send(self, channel: str, msg: Message | Any) -> Outcome:
        """Process `msg` (a Message, or any JSON value) and return its outcome."""
        return await self._source(channel).process(_as_message(msg))

    async def post(self, channel: str, msg: Message | Any) -> None:
        """Hand `msg` in without waiting for it; its outcome lands in `outcomes[channel]`."""

        async def record(outcome: Outcome) -> None:
            self.outcomes.setdefault(channel, []).append(outcome)

        await self._source(channel).submit(_as_message(msg), record)

    async def deliver(self, channel: str, msg: Message) -> None:
        async with self._changed:
            self._outputs.setdefault(channel, []).append(msg)
            self._changed.notify_all()

    def received(self, channel: str) -> list[Message]:
        return list(self._outputs.get(channel, ()))

    async def wait_for(self, channel: str, count: int, timeout: float = 5.0) -> list[Message]:
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: len(self._outputs.get(channel, ())) >= count), timeout
            )
        return self.received(channel)


def _as_message(value: Message | Any) -> Message:
    return value if isinstance(value, Message) else Message(json=value)


def hub_of(services: Services) -> MemoryHub:
    """The engine's hub (created on first use)."""
    hub: MemoryHub = services.singleton("memory", MemoryHub)
    return hub


class MemoryIn(Source):
    def __init__(self, name: str, channel: str) -> None:
        super().__init__(name, "memory.in")
        self.channel = channel
        self._hub: MemoryHub | None = None
        self._ctx: SourceContext | None = None

    async def start(self, ctx: SourceContext) -> None:
        self._hub = hub_of(ctx.services)
        self._ctx = ctx
        self._hub.bind(self.channel, ctx)

    async def stop(self) -> None:
        if self._hub is not None and self._ctx is not None:
            self._hub.unbind(self.channel, self._ctx)


class MemoryOut(AsyncNode):
    def __init__(self, name: str, channel: str) -> None:
        super().__init__(name, "memory.out")
        self.channel = channel
        self._hub: MemoryHub | None = None

    async def open(self, services: Services) -> None:
        self._hub = hub_of(services)

    async def process(self, msg: Message) -> Message:
        assert self._hub is not None, "memory.out used before open()"
        await self._hub.deliver(self.channel, msg)
        return msg


def _channel_default(ctx: BuildContext) -> str:
    return str(ctx.options.get("channel") or ctx.name)


_CHANNEL = Field({"type": "string", "minLength": 1}, "Channel name; defaults to the node's name")

MEMORY_IN = KindSpec(
    name="memory.in",
    role=Role.SOURCE,
    answers_sender=True,
    summary="Receive messages handed in by the host program (tests, embedding).",
    build=lambda ctx: MemoryIn(ctx.name, _channel_default(ctx)),
    options={"channel": _CHANNEL},
)

MEMORY_OUT = KindSpec(
    name="memory.out",
    role=Role.SINK,
    summary="Collect messages for the host program to read (tests, embedding).",
    build=lambda ctx: MemoryOut(ctx.name, _channel_default(ctx)),
    options={"channel": _CHANNEL},
)


def register(registry: Registry) -> None:
    """Entry point `flowengine.kinds: memory`."""
    registry.register(MEMORY_IN)
    registry.register(MEMORY_OUT)
