"""`Template.render` agrees with Jinja's own `render` on a sandbox without our shortcuts,
text for text and error for error: the shared context and the namespace fast path change
the cost of a render, never its result. The reference keeps the one sandbox rule that
changes what a render writes: only data becomes text (`{{ ns }}` is refused by both)."""

from __future__ import annotations

from typing import Any

import jinja2
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.sandbox import SandboxedEnvironment

from flowengine.core.message import Message
from flowengine.errors import NodeFailed
from flowengine.expressions import compiled as expressions
from flowengine.expressions.compiled import Template
from flowengine.expressions.plain import require_plain


class _Reference(SandboxedEnvironment):
    """The sandbox as Jinja has it, with only our data-first rule for JSON objects."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict:
            return obj[attribute] if attribute in obj else self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)


def _reference(autoescape: bool) -> SandboxedEnvironment:
    env = _Reference(
        undefined=jinja2.ChainableUndefined, autoescape=autoescape, keep_trailing_newline=True, finalize=require_plain
    )
    env.globals.update(expressions._PLAIN.globals)
    return env


REFERENCE = {flag: _reference(flag) for flag in (False, True)}

VALUES = [
    "body.s", "body.n", "body.f", "body.items | length", "body.missing", "body.missing.deeper", "id",
    "ns.a", "ns.b", "ns.missing", "ns.missing.deeper", "ns._a", "ns.__class__", "ns.__class__.__mro__",
    "ns._Namespace__attrs", "ns", "ns.a ~ '<'", "'%.2f' | format(body.f)", "'%02d' | format(ns.a % 100)",
    "ns.a // 2", "ns.a + body.missing", "body.s ~ ns.b", "ns.keys",
]  # fmt: skip
IN_LOOP = ["it", "it.p", "loop.index", "it.p * ns.a"]  # names only a loop's body knows
UPDATES = ["ns.a + 1", "ns.a * (body.f * 100) | round | int", "body.s", "ns.b"]
TEXT = ["", "<&>", "x\n", "\"'"]


@st.composite
def segment(draw: st.DrawFn, depth: int = 0, in_loop: bool = False) -> str:
    kind = draw(st.sampled_from(["text", "out", "out", "set", "for", "if"] if depth < 2 else ["text", "out", "set"]))
    values = VALUES + IN_LOOP if in_loop else VALUES
    if kind == "text":
        return draw(st.sampled_from(TEXT))
    if kind == "out":
        return "{{ " + draw(st.sampled_from(values)) + " }}"
    if kind == "set":
        value = draw(st.sampled_from(UPDATES + IN_LOOP if in_loop else UPDATES))
        return "{% set ns." + draw(st.sampled_from("ab")) + " = " + value + " %}"
    inner = "".join(draw(st.lists(segment(depth + 1, in_loop or kind == "for"), max_size=3)))
    if kind == "for":
        return "{% for it in body.items %}" + inner + "{% endfor %}"
    return "{% if " + draw(st.sampled_from(values)) + " %}" + inner + "{% else %}-{% endif %}"


@st.composite
def template(draw: st.DrawFn) -> str:
    start = draw(st.sampled_from(["{% set ns = namespace(a=1, _a=2) %}", "{% set ns = namespace() %}"]))
    return start + "".join(draw(st.lists(segment(), min_size=1, max_size=5)))


BODIES = st.fixed_dictionaries({
    "s": st.sampled_from(["EU", "<b>&", ""]),
    "n": st.integers(-3, 3),
    "f": st.floats(-100, 100, allow_nan=False),
    "items": st.lists(st.fixed_dictionaries({"p": st.integers(0, 3)}), max_size=3),
})  # fmt: skip


def outcome(render: Any) -> tuple[str, Any]:
    try:
        return ("text", render())
    except NodeFailed as err:
        cause = err.__cause__
        return ("error", type(cause).__name__, str(cause))
    except Exception as err:
        return ("error", type(err).__name__, str(err))


@settings(max_examples=500, deadline=None)
@given(template(), BODIES, st.booleans())
def test_render_agrees_with_jinja(source, body, autoescape):
    msg = Message(orjson.dumps(body), id="m1")
    ours = Template(source, autoescape=autoescape)
    theirs = REFERENCE[autoescape].from_string(source)
    context = {"body": msg.json, "id": msg.id}
    assert outcome(lambda: ours.render(msg)) == outcome(lambda: theirs.render(context)), source


def test_namespace_internals_stay_out_of_reach():
    source = "{% set ns = namespace(a=1, _a=2) %}[{{ ns._a }}{{ ns.__class__ }}{{ ns._Namespace__attrs }}{{ ns.a }}]"
    assert Template(source).render(Message(b"{}")) == "[1]"
