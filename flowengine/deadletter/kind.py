"""`dead_letter`: park the failed message in the engine's dead-letter store.

Used as an error route: `on error -> parked` with `sink parked = dead_letter()`.
It stores the message as its source received it (not the intermediate form at
the failing node) with the source's attributes, the last error and, for a replayed
letter, the earlier ones; the source then acknowledges, because
the message is now safe where an operator can see, explain and replay it.
"""

from __future__ import annotations

from typing import Any

from flowengine.compile.build import BuildContext
from flowengine.compile.spec import KindSpec, Role
from flowengine.core.message import Message
from flowengine.core.nodes import AsyncNode
from flowengine.deadletter.store import DeadLetterStore
from flowengine.errors import MessageError, NodeFailed


class DeadLetterSink(AsyncNode):
    def __init__(self, name: str, flow: str, revision: str) -> None:
        super().__init__(name, "dead_letter")
        self.flow = flow
        self.revision = revision
        self._store: DeadLetterStore | None = None

    async def open(self, services: Any) -> None:
        self._store = services.singleton("dead_letters", lambda: DeadLetterStore(services.store))

    async def process(self, msg: Message) -> Message:
        assert self._store is not None, "dead_letter used before open()"
        ex = msg.exchange
        error: MessageError = ex.errors[-1] if ex.errors else NodeFailed("parked without an error")
        original = ex.source or msg
        self._store.park(self.flow, self.revision, original, ex.source_node or "?", error)
        return msg


def build(ctx: BuildContext) -> DeadLetterSink:
    return DeadLetterSink(ctx.name, ctx.flow, ctx.revision)


SPEC = KindSpec(
    name="dead_letter",
    role=Role.SINK,
    summary="Park failed messages in the engine's dead-letter store (SQLite), to explain and replay later.",
    description=(
        "Keeps the original body and headers byte for byte and the source's attributes (topic, routing key, "
        "HTTP path and query, MLLP peer; a replay gives them back) with flow, revision, failing node, error, "
        "attempts, first/last failure time, trace id and earlier failures of a replayed letter. "
        "See `flowengine dlq`."
    ),
    build=build,
)
