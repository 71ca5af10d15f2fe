"""Runtime node objects: what a compiled graph node does with a message.

Kinds build one of these at load time (expressions and schemas compiled then).
The runtime calls `Transform.process` inline (no task hop, so a chain of pure
transforms is one function call each), awaits `AsyncNode.process` for nodes
that do I/O, asks a `Branch` which targets a message takes, and starts and
stops `Source`s. Every node has a `name` and `kind` for logs, metrics and graphs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from flowengine.message import Message

if TYPE_CHECKING:
    from flowengine.outcome import Outcome

Output = Message | None | list[Message]
"""What a processing node returns: one message, None (dropped on purpose), or several."""

Emit = Callable[[Message], Awaitable["Outcome"]]
"""Sends a message on from a node's successors, as if the node had just produced it."""


class Node:
    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind

    def attach(self, emit: Emit) -> None:
        """Called before `open` with this node's `emit`. Nodes that produce messages later,
        on their own schedule (an aggregate's timeout, a delay), keep it; others ignore it."""

    async def open(self, services: Any) -> None:
        """Called once when the flow starts: connect, warm up. Raising aborts the start."""

    async def close(self) -> None:
        """Called once when the flow stops, after in-flight messages drained."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} ({self.kind})>"


class Transform(Node):
    """A pure, synchronous step. Raise a `MessageError` to fail the message."""

    def process(self, msg: Message) -> Output:
        raise NotImplementedError


class AsyncNode(Node):
    """A step that does I/O (sinks, HTTP calls). Returns when the work is confirmed
    (e.g. a broker's publisher confirm); what it returns continues to successors."""

    async def process(self, msg: Message) -> Output:
        raise NotImplementedError


class Branch(Node):
    """Chooses which of its targets (by node name) a message goes to."""

    def route(self, msg: Message) -> Sequence[str]:
        raise NotImplementedError


Settle = Callable[["Outcome"], Awaitable[None]]


class SourceContext:
    """What a running source may use: hand in messages, reach engine services."""

    def __init__(
        self,
        flow: str,
        services: Any,
        process: Callable[[Message], Awaitable[Outcome]],
        submit: Callable[[Message, Settle], Awaitable[None]],
    ) -> None:
        self.flow = flow
        self.services = services
        self.process = process
        self.submit = submit


class Source(Node):
    """Produces messages. `start` returns once the source is listening."""

    async def start(self, ctx: SourceContext) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        """Stop taking new messages; in-flight ones are drained by the runtime."""

    async def pause(self) -> None:
        """Stop consuming without releasing the flow (in-flight messages still finish).
        The default stops the source; a connector may do better (e.g. cancel a consumer)."""
        await self.stop()

    async def resume(self, ctx: SourceContext) -> None:
        """Consume again after `pause`."""
        await self.start(ctx)
