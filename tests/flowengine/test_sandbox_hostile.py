"""Hostile expressions and templates (issue 19, "Expressions"): no internals leak, and a
message over a work cap fails to its error route with the reason while the engine goes on.

Leaks are checked on the text a flow would answer; caps through a real flow between
in-memory connectors, with `on error` to a second sink."""

from __future__ import annotations

import re

import pytest

from connectors.memory import hub_of
from flowengine.core.message import Message
from flowengine.errors import NodeFailed
from flowengine.expressions.compiled import Expression, ExpressionError, Template
from flowengine.runtime.engine import Engine
from tests.conftest import compile_ok

ADDRESS = re.compile(r"0x[0-9a-f]{4,}|<class|<function|<built-in|<generator|TemplateReference|jinja2")
MSG = Message(b'{"s": "ab", "n": 1000000000, "list": ["x", "y"], "f": 2.5}', content_type="application/json")

LEAKS = [
    "{{ '%r' % lipsum }}",
    "{{ '%s' | format(cycler) }}",
    "{{ joiner }}",
    "{{ dict }}",
    "{{ self }}",
    "{{ uuid }}",
    "{{ '%r' % uuid }}",
    "{{ '%s' | format(range) }}",
    "{{ namespace }}",
    "{{ 'a'.upper }}",
    "{{ '{0.upper}'.format('a') }}",
    "{{ '{}'.format(now) }}",
    "{{ '{x}'.format_map({'x': uuid}) }}",
    "{{ body.list | map('upper') }}",
    "{{ body.list | map('upper') | upper }}",
    "{{ (body.list | map('upper')) ~ '' }}",
    "{{ uuid | string }}",
    "{{ uuid | pprint }}",
    "{{ [uuid] | join(',') }}",
    "{% for x in body.list %}{{ loop }}{{ loop.cycle }}{% endfor %}",
    "{{ body.s.__class__ }}{{ body.s.__class__.__mro__ }}",
    "{{ namespace(a=1).__class__ }}{{ (body.list | map('upper')).gi_frame }}",
    "{{ 'x'.__mod__ }}",
]


@pytest.mark.parametrize("source", LEAKS)
def test_no_template_reveals_an_object_class_or_address(source):
    try:
        answer = Template(source).render(MSG)
    except (ExpressionError, NodeFailed) as err:
        answer = str(err)
    assert not ADDRESS.search(answer), answer


def test_format_and_percent_still_work_on_data():
    text = "{{ '%.2f' | format(body.f) }} {{ '%s-%d' % (body.s, 3) }} {{ '{:>4}|{x}'.format(body.s, x=1) }} {{ body.list }}"
    assert Template(text).render(MSG) == "2.50 ab-3   ab|1 ['x', 'y']"
    assert Expression("'%s/%s' % (body.s, body.list | length)")(MSG) == "ab/2"


def test_removed_globals_and_self_are_compile_errors():
    for name in ("lipsum", "cycler", "joiner", "dict", "self"):
        with pytest.raises(ExpressionError):
            Template("{{ " + name + " }}")


CAPS = [
    ("body.s * body.n", "FLOWENGINE_EXPR_MAX_TEXT"),
    ("range(body.n) | list", "FLOWENGINE_EXPR_MAX_ITEMS"),
    ("[body.s] * body.n", "FLOWENGINE_EXPR_MAX_ITEMS"),
    ("10 ** body.n", "FLOWENGINE_EXPR_MAX_INT_DIGITS"),
    ("('%' ~ body.n ~ 's') | format(1)", "FLOWENGINE_EXPR_MAX_TEXT"),
    ("body.s | center(body.n)", "FLOWENGINE_EXPR_MAX_TEXT"),
    ("body.s.ljust(body.n)", "FLOWENGINE_EXPR_MAX_TEXT"),
    ("(body.s * 100000) | replace('a', body.s * (body.n // 100000000))", "FLOWENGINE_EXPR_MAX_TEXT"),
]

FLOW = """flow hostile {
  source in = memory.in(channel: "in")
  transform t = %s
  sink out = memory.out(channel: "out")
  sink failed = memory.out(channel: "failed")
  in -> t -> out
  on error t -> failed
}
"""


async def _through(transform: str, bodies: list[dict]) -> tuple[list[Message], list[Message]]:
    engine = Engine()
    await engine.deploy(compile_ok(FLOW % transform))
    hub = hub_of(engine.services)
    try:
        for body in bodies:
            await hub.send("in", body)
        return hub.received("out"), hub.received("failed")
    finally:
        await engine.stop(drain_timeout=5)


@pytest.mark.parametrize(("expression", "cap"), CAPS)
async def test_a_message_over_a_cap_fails_to_its_error_route_and_the_next_one_passes(expression, cap):
    out, failed = await _through("json.map { v: " + expression + " }", [{"s": "ab", "n": 10**9}, {"s": "ab", "n": 2}])
    assert len(failed) == 1 and cap in failed[0].headers["error-message"], failed[0].headers
    assert len(out) == 1  # the small message goes through the same flow afterwards


async def test_template_loops_and_output_are_capped():
    loops = 'template(text: "{% for i in range(body.n) %}{% for j in range(body.n) %}{% endfor %}{% endfor %}ok")'
    out, failed = await _through(loops, [{"n": 100_000}, {"n": 3}])
    assert "FLOWENGINE_EXPR_MAX_LOOP" in failed[0].headers["error-message"]
    assert [m.text for m in out] == ["ok"]
    output = 'template(text: "{% for i in range(body.n) %}{{ body.s }}{% endfor %}")'
    out, failed = await _through(output, [{"n": 100_000, "s": "x" * 100}, {"n": 2, "s": "x"}])
    assert "FLOWENGINE_EXPR_MAX_TEXT" in failed[0].headers["error-message"]
    assert [m.text for m in out] == ["xx"]


def test_a_constant_over_a_cap_is_a_load_time_error_e132():
    with pytest.raises(ExpressionError) as err:
        Expression('"-" * 10 ** 9')
    assert err.value.code == "E132" and "FLOWENGINE_EXPR_MAX_TEXT" in str(err.value)
    assert Expression('"-" * 10')(MSG) == "-" * 10
