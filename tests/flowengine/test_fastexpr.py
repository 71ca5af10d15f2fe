"""The closure compiler agrees with Jinja's own evaluator, value for value and error for error."""

from __future__ import annotations

import math
from typing import Any

import jinja2
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from flowengine.core.message import Message
from flowengine.expressions import compiled as expressions
from flowengine.expressions.compiled import Expression
from flowengine.expressions.fast import compile_fast

ATOMS = [
    "body.a", "body.b", "body.s", "body.items", "body.nested.x", "body.missing", "body.missing.deeper",
    'body["a"]', "body.items[0]", "body.items[-1]", "body.items[1:]", "headers.h", "id", "attempt",
    "1", "2.5", "0", "-3", '"text"', "'EU'", "true", "none", "[1, 2]", '{"k": 1}', "(1, 2)",
]
FILTERS = [
    "lower", "upper", "length", "round", "round(1)", "abs", "int", "float", "string", "first", "last", "list",
    "default('d')", "default(0)", 'sum(attribute="p")', 'join(",")', "sort", "unique | list", "trim", "title",
    'selectattr("p", ">", 1) | list', 'map(attribute="p") | list', "select | list", 'reject("none") | list',
]
BINARY = ["+", "-", "*", "/", "//", "%", "==", "!=", "<", ">=", "in", "not in", "and", "or", "~"]
TESTS = ["defined", "undefined", "none", "number", "string", "mapping", "sequence"]


@st.composite
def expression(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.sampled_from(["atom", "atom", "filter", "binary", "not", "test", "cond", "neg"]))
    if depth > 2 or kind == "atom":
        return draw(st.sampled_from(ATOMS))
    inner = draw(expression(depth + 1))
    if kind == "filter":
        return f"({inner}) | {draw(st.sampled_from(FILTERS))}"
    if kind == "binary":
        return f"({inner}) {draw(st.sampled_from(BINARY))} ({draw(expression(depth + 1))})"
    if kind == "not":
        return f"not ({inner})"
    if kind == "neg":
        return f"-({inner})"
    if kind == "test":
        return f"({inner}) is {draw(st.sampled_from(TESTS))}"
    return f"({inner}) if ({draw(expression(depth + 1))}) else ({draw(expression(depth + 1))})"


BODIES = st.fixed_dictionaries({
    "a": st.integers(-5, 5),
    "b": st.floats(-10, 10, allow_nan=False),
    "s": st.sampled_from(["EU", "us", " x ", ""]),
    "items": st.lists(st.fixed_dictionaries({"p": st.integers(0, 3)}), max_size=3),
    "nested": st.fixed_dictionaries({"x": st.sampled_from([1, "one", None])}),
})


def outcome(fn: Any) -> tuple[str, Any]:
    try:
        value = fn()
    except Exception as err:
        return ("error", type(err).__name__)
    if isinstance(value, jinja2.Undefined):
        return ("undefined", None)
    if isinstance(value, float) and math.isnan(value):
        return ("nan", None)
    return ("value", value)


@settings(max_examples=600, deadline=None)
@given(expression(), BODIES)
def test_closures_agree_with_jinja(source, body):
    env = expressions._PLAIN
    tree = env.parse("{{ (" + source + ") }}")
    fast = compile_fast(env, tree.body[0].nodes[0], expressions.VIEWS)
    if fast is None:
        return
    msg = Message(orjson.dumps(body), headers={"h": "v"}, id="m1")
    jinja = env.compile_expression(source, undefined_to_none=False)
    context = {"body": msg.json, "headers": msg.headers, "id": msg.id, "attempt": msg.attempt}
    assert outcome(lambda: fast(msg)) == outcome(lambda: jinja(**context)), source


def test_the_fast_path_covers_the_common_expressions():
    env = expressions._PLAIN
    for source in ["body.id", 'body["items"] | sum(attribute="price") | round(2)', "((body.temp_f - 32) * 5 / 9) | round(2)",
                   "body.site != 'test'", 'body.region in ["us", "ca"]', "now()", "body.x if body.y else 0"]:
        tree = env.parse("{{ (" + source + ") }}")
        assert compile_fast(env, tree.body[0].nodes[0], expressions.VIEWS) is not None, source


def test_sandbox_still_holds_on_the_fast_path():
    msg = Message(b'{"a": 1}')
    for source in ["body.__class__", "body.a.__class__.__mro__", "''.__class__.__subclasses__", "body.keys"]:
        assert Expression(source)(msg) is None, source  # the sandbox answers undefined, the data has no such key
