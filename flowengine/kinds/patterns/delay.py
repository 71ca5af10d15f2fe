"""`delay`: hold each message for a while before it goes on (rate smoothing, grace periods).

The message stays in flight while it waits: it is not acknowledged, so a crash
means redelivery rather than loss, and it counts against the source's in-flight
limit, so a long delay slows intake instead of piling messages up in memory.
Every delay is capped by `max`: an expression can never park a message for a day.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from flowengine.compile.spec import Field, KindSpec, Role
from flowengine.core.durations import SCHEMA as DURATION
from flowengine.core.durations import seconds
from flowengine.core.message import Message
from flowengine.core.nodes import AsyncNode
from flowengine.kinds.patterns._values import per_message

Duration = Callable[[Message], float]


class Delay(AsyncNode):
    def __init__(self, name: str, duration: Duration, cap: float) -> None:
        super().__init__(name, "delay")
        self.duration = duration
        self.cap = cap

    async def process(self, msg: Message) -> Message:
        await asyncio.sleep(min(max(self.duration(msg), 0.0), self.cap))
        return msg


SPEC = KindSpec(
    name="delay",
    role=Role.TRANSFORM,
    summary="Hold each message for a duration (fixed, or an expression) before sending it on.",
    description=(
        "The message stays unacknowledged while it waits (a crash means redelivery) and counts against the "
        "source's in-flight limit. Every delay is capped by `max`."
    ),
    build=lambda ctx: Delay(ctx.name, per_message(ctx, "for", seconds, "a duration"), seconds(ctx.options["max"])),
    options={
        "for": Field(
            {"anyOf": [DURATION, {"type": "string", "minLength": 1}]},
            'A duration ("500ms", "2s", 1.5), or an expression giving seconds or a duration',
            required=True,
            examples=("2s", "body.retry_after"),
        ),
        "max": Field(DURATION, "Longest delay any message gets", default="5m"),
    },
)
