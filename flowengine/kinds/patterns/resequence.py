"""`resequence`: send messages on in the order of a sequence number, whatever order they came in.

Each message is stored (`_streams`) and acknowledged; the node then sends on,
one at a time and in order, every message whose number is next. A missing number
holds the stream back until `window` messages wait behind it or the oldest has
waited `timeout`: then the gap is given up on (logged) and the stream moves on.
A message whose number the stream has passed (a duplicate, or one given up on)
is dropped and logged. A send that fails is retried with backoff; the stream
does not skip it, since order is the point.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from flowengine.compile.build import BuildContext
from flowengine.compile.spec import Field, KindSpec, Role
from flowengine.core.durations import SCHEMA as DURATION
from flowengine.core.durations import seconds
from flowengine.core.message import Message
from flowengine.core.nodes import AsyncNode, Emit
from flowengine.errors import NodeFailed
from flowengine.expressions.compiled import Expression
from flowengine.kinds.patterns._durable import Ticker, log, tick_interval
from flowengine.kinds.patterns._streams import Added, Streams


class Resequence(AsyncNode):
    def __init__(
        self,
        name: str,
        flow: str,
        sequence: Expression,
        key: Expression | None,
        start: int | None,
        window: int | None,
        timeout: float | None,
    ) -> None:
        super().__init__(name, "resequence")
        self.flow = flow
        self.sequence = sequence
        self.key = key
        self.start = start
        self.window = window
        self.timeout = timeout
        self.ticker = Ticker(f"flow {flow}: resequence {name}", tick_interval(timeout), self._tick)
        self._emit: Emit | None = None
        self._streams: Streams | None = None
        self._sending = asyncio.Lock()  # one sender at a time keeps each stream in order

    def attach(self, emit: Emit) -> None:
        self._emit = emit

    async def open(self, services: Any) -> None:
        self._streams = Streams(services.store, self.flow, self.name)
        self.ticker.start()

    async def close(self) -> None:
        await self.ticker.stop()

    async def process(self, msg: Message) -> list[Message] | None:
        assert self._streams is not None, "resequence used before open()"
        value = self.sequence(msg)
        if not isinstance(value, int | str) or not str(value).lstrip("-").isdigit():
            raise NodeFailed(f"sequence `{self.sequence.source}` gave {value!r}, not a whole number")
        seq = int(value)
        key = "" if self.key is None else str(self.key(msg))
        added, expected = self._streams.add(key, seq, msg, time.time(), self.start)
        if added is not Added.STORED:
            log.warning(
                "flow %s: %s dropped %s: number %d is %s (stream '%s' expects %d)",
                self.flow,
                self.name,
                msg.id,
                seq,
                added.value,
                key,
                expected,
                extra={"flow": self.flow, "node": self.name, "message_id": msg.id},
            )
            return None
        await self._send(key)
        return []  # stored: the input is done; it goes on in its turn

    async def _tick(self) -> None:
        assert self._streams is not None
        for key in self._streams.waiting():
            await self._send(key)

    async def _send(self, key: str) -> None:
        assert self._streams is not None and self._emit is not None
        async with self._sending:
            while (head := self._streams.head(key, time.time(), self.window, self.timeout)) is not None:
                seq, msg = head
                outcome = await self._emit(msg)
                if not outcome.ok:
                    wait = self._streams.failed(key, time.time())
                    log.warning(
                        "flow %s: %s could not send number %d of stream '%s'; retrying in %.1fs",
                        self.flow,
                        self.name,
                        seq,
                        key,
                        wait,
                        extra={"flow": self.flow, "node": self.name, "message_id": msg.id},
                    )
                    return
                self._streams.sent(key, seq)


def build(ctx: BuildContext) -> Resequence:
    if "window" not in ctx.options and "timeout" not in ctx.options:
        raise ctx.fail(
            "'resequence' needs a 'window' or a 'timeout', or a lost message would hold its stream forever",
            code="E104",
        )
    return Resequence(
        ctx.name,
        ctx.flow,
        ctx.option_expression("sequence"),
        ctx.option_expression("key") if "key" in ctx.options else None,
        ctx.options.get("start"),
        ctx.options.get("window"),
        seconds(ctx.options["timeout"]) if "timeout" in ctx.options else None,
    )


SPEC = KindSpec(
    name="resequence",
    role=Role.TRANSFORM,
    summary="Send messages on in sequence-number order, waiting (within a window) for missing ones.",
    description=(
        "Messages are stored (in the engine's store) and acknowledged, then sent on one at a time in order. "
        "A missing number holds its stream until `window` messages wait behind it or the oldest waited "
        "`timeout`; then it is skipped (logged). Numbers the stream has passed are dropped and logged. "
        "A failed send is retried with backoff, never skipped."
    ),
    build=build,
    options={
        "sequence": Field(
            {"type": "string", "minLength": 1},
            "Expression giving the message's sequence number (a whole number)",
            required=True,
            expression=True,
            examples=("body.seq", "headers['split-index']"),
        ),
        "key": Field(
            {"type": "string", "minLength": 1},
            "Expression naming the stream a message belongs to (default: one stream)",
            expression=True,
            examples=("body.device",),
        ),
        "start": Field({"type": "integer"}, "First number of every stream (default: the first number seen)"),
        "window": Field(
            {"type": "integer", "minimum": 1}, "Give up on a missing number once this many messages wait behind it"
        ),
        "timeout": Field(DURATION, "Give up on a missing number once a message waited this long", examples=("5s",)),
    },
)
