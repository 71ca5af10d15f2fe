"""The sandboxed Jinja2 environment that every expression and template runs in.

Jinja's `SandboxedEnvironment` already refuses internals (`__class__`, `mro`, unsafe
callables). On top of it, for flows:

- `a.b` on a JSON object is its key `b`, never a dict method (`body.items` is the key).
- Globals are only what flows use: `now()`, `uuid()`, `range()` (capped) and `namespace()`
  (a loop's running total). Jinja's `lipsum`, `cycler`, `joiner` and `dict` are gone, and
  `self` (the template object) is refused at compile time by `expressions`.
- Only data becomes text (`plain`): output, `~`, string filters, `%`, `format`, `str.format`.
- Work is capped per message (`limits`): `*`, `+`, `**` and `%` go through checked
  operations (the sandbox's `intercepted_binops`), string methods and filters that can
  multiply a size check it first, and every `for` loop charges the render's loop budget.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.runtime import Context, Namespace
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from jinja2.visitor import NodeTransformer

from flowengine.expressions.filters import CONCAT, COUNTED, guarded_filters, replaced_size
from flowengine.expressions.limits import LIMITS, add, check_size, checked_range, mul, power, text_too_long
from flowengine.expressions.plain import percent, require_plain, str_format


def _uuid() -> str:
    return uuid.uuid4().hex


BINARY = {"*": mul, "+": add, "**": power, "%": percent}
GLOBALS: dict[str, Any] = {"now": time.time, "uuid": _uuid, "range": checked_range, "namespace": Namespace}


class _Guards(NodeTransformer):
    """Rewrites a parsed template before code generation: `a ~ b` becomes the checked
    `concat`, and each `for` loop's iterable goes through `counted` (the loop budget)."""

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        parts = [self.visit(n) for n in node.nodes]
        return nodes.Filter(nodes.List(parts, lineno=node.lineno), CONCAT, [], [], None, None, lineno=node.lineno)

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, COUNTED, [], [], None, None, lineno=node.lineno)
        return node


def _writable(value: Any) -> Any:
    """Jinja's `finalize`: what `{{ ... }}` writes must be data."""
    return require_plain(value)


class DataSandbox(SandboxedEnvironment):
    """The sandbox, with `a.b` on a JSON object meaning its key `b`, never a dict method.

    Plain Jinja tries attributes first, so `body.items` would be `dict.items`;
    message data is data, so objects answer with their keys only.
    """

    intercepted_binops = frozenset(BINARY)

    def __init__(self, autoescape: bool) -> None:
        super().__init__(
            undefined=jinja2.ChainableUndefined, autoescape=autoescape, keep_trailing_newline=True, finalize=_writable
        )
        self.globals.clear()
        self.globals.update(GLOBALS)
        self.filters.clear()
        self.filters.update(guarded_filters())

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            try:
                return obj[attribute]
            except KeyError:
                return self.undefined(obj=obj, name=attribute)
        if type(obj) is Namespace and not attribute.startswith("_"):
            # What the sandbox answers, without its checks: a namespace holds data only, and
            # a name without a leading underscore is never internal (`total.cents` in a loop).
            try:
                return getattr(obj, attribute)
            except AttributeError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def wrap_str_format(self, value: Any) -> Any:
        return str_format(self, value)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        return BINARY[operator](left, right)

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Call from sandboxed code: a safe callable, string methods within the caps, and a
        list that a method grew (`x.extend(x)` in a loop) within the item cap."""
        if not __self.is_safe_callable(__obj):
            raise SecurityError("this value cannot be called")
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            _check_str_method(owner, __obj.__name__, args)
        result = check_size(__context.call(__obj, *args, **kwargs))
        if type(owner) is list:
            check_size(owner)
        return result

    def _generate(
        self, source: nodes.Template, name: str | None, filename: str | None, defer_init: bool = False
    ) -> str:
        """Jinja's documented hook before code generation: add the guards to the tree."""
        return super()._generate(_Guards().visit(source), name, filename, defer_init)


def _check_str_method(s: str, name: str, args: tuple[Any, ...]) -> None:
    """Refuse before it runs a string method that would build text over the cap."""
    if name == "replace" and len(args) >= 2:
        size = replaced_size(s, args[0], args[1])
    elif name == "join" and args and isinstance(args[0], (list, tuple)):
        size = len(s) * len(args[0]) + sum(len(i) for i in args[0] if isinstance(i, str))
    elif name == "expandtabs" and args and isinstance(args[0], int):
        size = len(s) + s.count("\t") * args[0]
    else:
        size = max((a for a in args if type(a) is int), default=0)  # center, ljust, zfill widths
    if size > LIMITS.max_text:
        raise text_too_long(size)
