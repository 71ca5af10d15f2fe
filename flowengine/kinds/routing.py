"""Routing kinds: `branch` (when/else arms), `filter` and `multicast`.

A branch sends each message down the first arm whose condition holds, else to
its `else` target. A filter drops (and counts) messages whose condition is
false; the source still acks them, since dropping is the flow's decision.
Multicast is a named fan-out point: every successor gets a copy. (Any node
with several outgoing edges fans out the same way.)
"""

from __future__ import annotations

from collections.abc import Sequence

from flowengine.compile.build import BuildContext
from flowengine.compile.spec import Field, KindSpec, Role
from flowengine.core.message import Message
from flowengine.core.nodes import Branch, Transform
from flowengine.errors import NodeFailed
from flowengine.expressions.compiled import Expression


class BranchNode(Branch):
    def __init__(self, name: str, arms: list[tuple[Expression, str]], otherwise: str | None) -> None:
        super().__init__(name, "branch")
        self.arms = arms
        self.otherwise = (otherwise,) if otherwise else ()

    def route(self, msg: Message) -> Sequence[str]:
        for condition, target in self.arms:
            if condition(msg):
                return (target,)
        if not self.otherwise:
            raise NodeFailed("no arm matched and the branch has no else")
        return self.otherwise


def build_branch(ctx: BuildContext) -> BranchNode:
    arms = []
    otherwise = None
    for arm in ctx.arms:
        if arm.condition is None:
            otherwise = arm.target
        else:
            assert arm.condition_span is not None
            arms.append((ctx.expression(arm.condition, arm.condition_span), arm.target))
    return BranchNode(ctx.name, arms, otherwise)


class FilterNode(Transform):
    def __init__(self, name: str, condition: Expression) -> None:
        super().__init__(name, "filter")
        self.condition = condition

    def process(self, msg: Message) -> Message | None:
        return msg if self.condition(msg) else None


class Multicast(Transform):
    def __init__(self, name: str) -> None:
        super().__init__(name, "multicast")

    def process(self, msg: Message) -> Message:
        return msg


BRANCH = KindSpec(
    name="branch",
    role=Role.BRANCH,
    summary="Content-based router: `when <condition> -> node` arms, first match wins, `else -> node`.",
    description="Declared with arms rather than options: `branch route { when body.x > 1 -> a  else -> b }`.",
    build=build_branch,
)

FILTER = KindSpec(
    name="filter",
    role=Role.BRANCH,
    summary="Pass messages whose condition holds; drop (and count) the others.",
    build=lambda ctx: FilterNode(ctx.name, ctx.option_expression("condition")),
    options={
        "condition": Field(
            {"type": "string", "minLength": 1},
            "Expression; the message passes when it is truthy",
            required=True,
            expression=True,
            examples=("body.site != 'test'",),
        ),
    },
)

MULTICAST = KindSpec(
    name="multicast",
    role=Role.BRANCH,
    summary="Send a copy of each message to every successor; done when all of them are.",
    build=lambda ctx: Multicast(ctx.name),
)
