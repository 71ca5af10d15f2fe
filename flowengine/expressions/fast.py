"""Compile a sandboxed Jinja2 expression into Python closures, for the per-message path.

Jinja's `compile_expression` renders a one-line template for every call: a new
context, a generator, a dict of variables; tens of microseconds an expression.
This module walks the expression's Jinja syntax tree once, at load time, and
builds a closure per node that does only the node's own work. Semantics are
Jinja's own, because every operation that the sandbox guards goes through the
same environment: attribute and item access (`env.getattr` / `env.getitem`,
with our data-first rule for JSON objects), filters and tests (`call_filter`,
`call_test`), the capped operators and `~` (`sandbox.BINARY`, `concat`), and a
missing member is the environment's undefined object. A
node kind this module does not handle (a call of anything but a known global,
for instance) makes `compile_fast` return None, and the caller keeps Jinja's
evaluator: the fast path is an optimisation, never a second language.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any

from jinja2 import nodes
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import _PassArg

from flowengine.core.message import Message
from flowengine.expressions.filters import concat
from flowengine.expressions.sandbox import BINARY

Fn = Callable[[Message], Any]
View = Callable[[Message], Any]

_BINARY: dict[type[nodes.BinExpr], Callable[[Any, Any], Any]] = {
    nodes.Sub: operator.sub,
    nodes.Div: operator.truediv,
    nodes.FloorDiv: operator.floordiv,
}
_BINARY.update({node: BINARY[node.operator] for node in (nodes.Add, nodes.Mul, nodes.Mod, nodes.Pow)})
_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gteq": operator.ge,
    "lt": operator.lt,
    "lteq": operator.le,
    "in": lambda a, b: a in b,
    "notin": lambda a, b: a not in b,
}
_SAFE_GLOBALS = frozenset({"now", "uuid"})  # our own functions: called directly


class Unsupported(Exception):
    """The expression uses something only Jinja's own evaluator handles."""


def compile_fast(env: SandboxedEnvironment, expr: nodes.Expr, views: dict[str, View]) -> Fn | None:
    """A closure evaluating `expr` against a message, or None to keep Jinja's evaluator."""
    try:
        return _Compiler(env, views).compile(expr)
    except Unsupported:
        return None


class _Compiler:
    def __init__(self, env: SandboxedEnvironment, views: dict[str, View]) -> None:
        self.env = env
        self.views = views
        self.context = env.from_string("").new_context({})  # for filters that want one (map, select)

    def compile(self, node: nodes.Expr) -> Fn:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            raise Unsupported(type(node).__name__)
        fn: Fn = method(node)
        return fn

    # --- names and literals ------------------------------------------------------------
    def _Name(self, node: nodes.Name) -> Fn:
        view = self.views.get(node.name)
        if view is not None:
            return view
        if node.name in self.env.globals:
            value = self.env.globals[node.name]
            return lambda msg: value
        raise Unsupported(node.name)

    def _Const(self, node: nodes.Const) -> Fn:
        value = node.value
        return lambda msg: value

    def _List(self, node: nodes.List) -> Fn:
        items = [self.compile(i) for i in node.items]
        return lambda msg: [f(msg) for f in items]

    def _Tuple(self, node: nodes.Tuple) -> Fn:
        items = [self.compile(i) for i in node.items]
        return lambda msg: tuple(f(msg) for f in items)

    def _Dict(self, node: nodes.Dict) -> Fn:
        pairs = [(self.compile(p.key), self.compile(p.value)) for p in node.items]
        return lambda msg: {k(msg): v(msg) for k, v in pairs}

    # --- member access -----------------------------------------------------------------
    def _Getattr(self, node: nodes.Getattr) -> Fn:
        obj, name, getattr_ = self.compile(node.node), node.attr, self.env.getattr

        def get(msg: Message) -> Any:
            value = obj(msg)
            if type(value) is dict and name in value:  # JSON data: its members, never dict methods
                return value[name]
            return getattr_(value, name)

        return get

    def _Getitem(self, node: nodes.Getitem) -> Fn:
        obj, getitem = self.compile(node.node), self.env.getitem
        if isinstance(node.arg, nodes.Slice):
            part = self._Slice(node.arg)
            return lambda msg: getitem(obj(msg), part(msg))
        key = self.compile(node.arg)

        def get(msg: Message) -> Any:
            value, k = obj(msg), key(msg)
            if type(value) is dict and k in value:
                return value[k]
            return getitem(value, k)

        return get

    def _Slice(self, node: nodes.Slice) -> Fn:
        parts = [self.compile(p) if p is not None else None for p in (node.start, node.stop, node.step)]
        return lambda msg: slice(*(p(msg) if p is not None else None for p in parts))

    # --- operators -----------------------------------------------------------------------
    def _binary(self, node: nodes.BinExpr) -> Fn:
        op, left, right = _BINARY[type(node)], self.compile(node.left), self.compile(node.right)
        return lambda msg: op(left(msg), right(msg))

    _Add = _Sub = _Mul = _Div = _FloorDiv = _Mod = _Pow = _binary

    def _And(self, node: nodes.And) -> Fn:
        left, right = self.compile(node.left), self.compile(node.right)
        return lambda msg: left(msg) and right(msg)

    def _Or(self, node: nodes.Or) -> Fn:
        left, right = self.compile(node.left), self.compile(node.right)
        return lambda msg: left(msg) or right(msg)

    def _Not(self, node: nodes.Not) -> Fn:
        inner = self.compile(node.node)
        return lambda msg: not inner(msg)

    def _Neg(self, node: nodes.Neg) -> Fn:
        inner = self.compile(node.node)
        return lambda msg: -inner(msg)

    def _Pos(self, node: nodes.Pos) -> Fn:
        inner = self.compile(node.node)
        return lambda msg: +inner(msg)

    def _Concat(self, node: nodes.Concat) -> Fn:
        parts, context = [self.compile(p) for p in node.nodes], self.context.eval_ctx
        return lambda msg: concat(context, [p(msg) for p in parts])

    def _Compare(self, node: nodes.Compare) -> Fn:
        first = self.compile(node.expr)
        rest = [(_COMPARE[o.op], self.compile(o.expr)) for o in node.ops]

        def compare(msg: Message) -> bool:
            left = first(msg)
            for op, right_fn in rest:
                right = right_fn(msg)
                if not op(left, right):
                    return False
                left = right
            return True

        return compare

    def _CondExpr(self, node: nodes.CondExpr) -> Fn:
        test, yes = self.compile(node.test), self.compile(node.expr1)
        no = self.compile(node.expr2) if node.expr2 is not None else None
        undefined = self.env.undefined

        def choose(msg: Message) -> Any:
            if test(msg):
                return yes(msg)
            return no(msg) if no is not None else undefined("the inline if-expression evaluated to false")

        return choose

    # --- filters, tests and calls ----------------------------------------------------------
    def _arguments(self, node: nodes.Filter | nodes.Test | nodes.Call) -> tuple[list[Fn], list[tuple[str, Fn]]]:
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            raise Unsupported("*args / **kwargs")
        return [self.compile(a) for a in node.args], [(str(k.key), self.compile(k.value)) for k in node.kwargs]

    def _Filter(self, node: nodes.Filter) -> Fn:
        if node.node is None or node.name not in self.env.filters:
            raise Unsupported("filter block or unknown filter")
        return self._apply(self.env.filters[node.name], node)

    def _Test(self, node: nodes.Test) -> Fn:
        if node.name not in self.env.tests:
            raise Unsupported("unknown test")
        return self._apply(self.env.tests[node.name], node)

    def _apply(self, func: Any, node: nodes.Filter | nodes.Test) -> Fn:
        """Call a filter or test function directly, with what it asks Jinja to pass first
        (the environment, the evaluation context or a context), as `call_filter` would."""
        assert node.node is not None
        value, (args, kwargs) = self.compile(node.node), self._arguments(node)
        passes: dict[_PassArg | None, tuple[Any, ...]] = {
            _PassArg.context: (self.context,),
            _PassArg.eval_context: (self.context.eval_ctx,),
            _PassArg.environment: (self.env,),
        }
        first = passes.get(_PassArg.from_obj(func), ())
        if not args and not kwargs:
            return lambda msg: func(*first, value(msg))
        if all(isinstance(a, nodes.Const) for a in (*node.args, *(k.value for k in node.kwargs))):
            # Constant arguments (`round(2)`, `default("n/a")`) are bound once, not rebuilt per call.
            fixed = [a.value for a in node.args]  # type: ignore[attr-defined]
            named = {str(k.key): k.value.value for k in node.kwargs}  # type: ignore[attr-defined]
            bound = functools.partial(func, *first)
            return lambda msg: bound(value(msg), *fixed, **named)
        return lambda msg: func(*first, value(msg), *[a(msg) for a in args], **{k: v(msg) for k, v in kwargs})

    def _Call(self, node: nodes.Call) -> Fn:
        if not (isinstance(node.node, nodes.Name) and node.node.name in _SAFE_GLOBALS) or node.args or node.kwargs:
            raise Unsupported("call")
        func: Callable[[], Any] = self.env.globals[node.node.name]  # type: ignore[assignment]
        return lambda msg: func()
