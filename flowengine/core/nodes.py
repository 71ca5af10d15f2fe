"""Runtime node objects: what a compiled graph node does with a message.

Kinds build one of these at load time (expressions and schemas compiled then).
The runtime calls `Transform.process` inline (no task hop, so a chain of pure
transforms is one function call each), awaits `AsyncNode.process` for nodes
that do I/O, asks a `Branch` which targets a message takes, and starts and
stops `Source`s. Every node has a `name` and `kind` for logs, metrics and graphs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from flowengine.core.message import Message

if TYPE_CHECKING:
    from flowengine.core.outcome import Outcome
    from flowengine.errors import MessageError
    from flowengine.runtime.services import Services

Output = Message | None | list[Message]
"""What a processing node returns: one message, None (dropped on purpose), or several."""


class Emit(Protocol):
    """Sends a message on from a node's successors, as if the node had just produced it;
    with `error`, sends it to the node's error route as if the node had failed on it."""

    def __call__(self, msg: Message, error: MessageError | None = None) -> Awaitable[Outcome]: ...


Call = Callable[[str, Message], Awaitable[Output]]
"""Runs a node of the flow that this node names (see `KindSpec.calls`) and returns its output."""


class Node:
    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind

    def attach(self, emit: Emit) -> None:
        """Called before `open` with this node's `emit`. Nodes that produce messages later,
        on their own schedule (an aggregate's timeout, a delay), keep it; others ignore it."""

    def bind(self, call: Call) -> None:
        """Called before `open` with `call`, which runs one of the nodes this node's options
        name (a saga's steps, an enrich lookup). Nodes that name none ignore it."""

    async def open(self, services: Services) -> None:
        """Called once when the flow starts: connect, warm up. Raising aborts the start."""

    async def close(self) -> None:
        """Called once when the flow stops, after in-flight messages drained."""

    @property
    def connected(self) -> bool:
        """Whether the node's transport connection is up, for `/readyz` and metrics.
        Nodes without a connection are always connected; connectors override this."""
        return True

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
        services: Services,
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
