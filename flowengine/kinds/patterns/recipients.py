"""`recipients`: a recipient list. An expression names, per message, which of the node's
successors receive it; each gets a copy and the message is done when all of them are.

The possible recipients are the node's edges (`fan -> billing`), so every name a
flow can use is checked when it compiles; a name the expression computes that is
not one of them fails the message with the list of valid ones (the runtime checks
every branch's targets). An empty list fails too: a message must go somewhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from flowengine.compile.spec import Field, KindSpec, Role
from flowengine.core.message import Message
from flowengine.core.nodes import Branch
from flowengine.errors import NodeFailed
from flowengine.expressions.compiled import Expression


class Recipients(Branch):
    def __init__(self, name: str, to: Expression) -> None:
        super().__init__(name, "recipients")
        self.to = to

    def route(self, msg: Message) -> Sequence[str]:
        value = self.to(msg)
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list | tuple) or not all(isinstance(n, str) for n in names):
            raise NodeFailed(f"recipients `{self.to.source}` gave {value!r}; expected a node name or a list of them")
        if not names:
            raise NodeFailed(f"recipients `{self.to.source}` gave no recipient for this message")
        return list(dict.fromkeys(names))  # each recipient once


SPEC = KindSpec(
    name="recipients",
    role=Role.BRANCH,
    summary="Recipient list: an expression picks which successors get the message (one or several).",
    description=(
        "Connect every possible recipient with an edge (`fan -> billing`); the expression returns one of "
        "their names or a list. Each named successor gets a copy; the message is done when all are. A name "
        "that is not a successor, or an empty list, fails the message."
    ),
    build=lambda ctx: Recipients(ctx.name, ctx.option_expression("to")),
    options={
        "to": Field(
            {"type": "string", "minLength": 1},
            "Expression giving a successor's name or a list of names",
            required=True,
            expression=True,
            examples=("body.notify", "['audit'] + (['pager'] if body.severity == 'critical' else [])"),
        ),
    },
)
