"""`loop`: run another node repeatedly on a message, a fixed number of times or while a
condition holds, never more than `max` times (flows are acyclic; this is the bounded loop).

Each round's output is the next round's input (header `loop-index` counts from 0),
so a paged lookup is `loop(body: "next_page", while: "body.next")`. The loop sends
on the last round's output, or with `emit: "each"` every round's output. A `while`
that still holds after `max` rounds fails the message: a loop that does not end on
its own is a bug to see, not to hide.
"""

from __future__ import annotations

from flowengine.compile.build import BuildContext
from flowengine.compile.spec import Field, KindSpec, Role
from flowengine.core.message import Message
from flowengine.core.nodes import AsyncNode, Call
from flowengine.errors import NodeFailed
from flowengine.expressions.compiled import Expression


class Loop(AsyncNode):
    def __init__(self, name: str, body: str, times: int | None, condition: Expression | None, limit: int, each: bool):
        super().__init__(name, "loop")
        self.body = body
        self.times = times
        self.condition = condition
        self.limit = limit
        self.each = each
        self._call: Call | None = None

    def bind(self, call: Call) -> None:
        self._call = call

    async def process(self, msg: Message) -> Message | list[Message]:
        assert self._call is not None, "loop used before bind()"
        outputs: list[Message] = []
        current = msg
        for index in range(self.limit + 1):
            if not self._again(index, current):
                return outputs if self.each else current
            if index == self.limit:
                break
            current = current.copy()
            current.headers["loop-index"] = str(index)
            out = await self._call(self.body, current)
            if not isinstance(out, Message):
                raise NodeFailed(f"loop body '{self.body}' gave no single message in round {index}")
            current = out
            outputs.append(out)
        raise NodeFailed(f"loop still running after max={self.limit} rounds (`{self._source()}` still holds)")

    def _again(self, index: int, current: Message) -> bool:
        if self.times is not None:
            return index < self.times
        assert self.condition is not None
        return bool(self.condition(current))

    def _source(self) -> str:
        return self.condition.source if self.condition else ""


def build(ctx: BuildContext) -> Loop:
    times, cond = ctx.options.get("times"), ctx.options.get("while")
    if (times is None) == (cond is None):
        raise ctx.fail("give exactly one of 'times' or 'while'", code="E104")
    limit = ctx.options["max"]
    if times is not None and times > limit:
        raise ctx.fail(f"'times' ({times}) is over 'max' ({limit})", "times", code="E103")
    condition = ctx.option_expression("while") if cond is not None else None
    return Loop(ctx.name, ctx.options["body"], times, condition, limit, ctx.options["emit"] == "each")


SPEC = KindSpec(
    name="loop",
    role=Role.TRANSFORM,
    summary="Run a node repeatedly on a message: `times` rounds, or `while` a condition holds (at most `max`).",
    description=(
        "Each round's output feeds the next (header `loop-index` from 0). `while` is checked before each "
        "round; if it still holds after `max` rounds, the message fails. Sends on the last output, or every "
        'output with `emit: "each"`.'
    ),
    build=build,
    calls=lambda options: [("body", options["body"])],
    options={
        "body": Field({"type": "string", "minLength": 1}, "The node each round runs", required=True),
        "times": Field({"type": "integer", "minimum": 0}, "Run exactly this many rounds"),
        "while": Field(
            {"type": "string", "minLength": 1},
            "Expression checked before each round; stop when falsy",
            expression=True,
            examples=("body.next_page",),
        ),
        "max": Field({"type": "integer", "minimum": 1, "maximum": 10000}, "Most rounds ever run", default=100),
        "emit": Field({"enum": ["last", "each"]}, "Send on the last round's output, or each round's", default="last"),
    },
)
