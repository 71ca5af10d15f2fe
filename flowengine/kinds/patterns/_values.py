"""Options that take a constant or an expression (`size: 10` or `size: "headers['n']"`,
`for: "2s"` or `for: "body.wait"`): either way, a function of the message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flowengine.compile.build import BuildContext
from flowengine.core.message import Message
from flowengine.errors import NodeFailed

T = TypeVar("T")


def per_message(ctx: BuildContext, option: str, convert: Callable[[Any], T], what: str) -> Callable[[Message], T]:
    """The value of `option` for each message. A value `convert` accepts is a constant; any other
    string is compiled as an expression, whose result `convert` must accept for every message."""
    raw = ctx.options[option]
    try:
        fixed = convert(raw)
    except (TypeError, ValueError):
        pass
    else:
        return lambda msg: fixed
    expr = ctx.option_expression(option)

    def value(msg: Message) -> T:
        result = expr(msg)
        try:
            return convert(result)
        except (TypeError, ValueError):
            raise NodeFailed(f"{ctx.kind} `{expr.source}` gave {result!r}, not {what}") from None

    return value
