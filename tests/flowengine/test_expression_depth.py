"""flowengine.expressions.depth: expressions and templates too deep to compile are E004, not a crash."""

from __future__ import annotations

import pytest

from flowengine.expressions.compiled import Expression, ExpressionError, Template
from flowengine.expressions.depth import MAX_BLOCKS, MAX_BRACKETS, MAX_DEPTH
from tests.conftest import codes

TOO_DEEP = {
    "parens": "(" * 500 + "body" + ")" * 500,
    "not": "not " * 500 + "body",
    "unary minus": "- " * 500 + "1",
    "additions": "+".join(["body.a"] * 500),
    "attributes": "body" + ".a" * 500,
    "subscripts": "body" + "[0]" * 500,
    "filters": "body" + "|lower" * 500,
    "conditionals": "1 if body else " * 500 + "2",
}
AT_THE_LIMIT = {
    "parens": "(" * MAX_BRACKETS + "body" + ")" * MAX_BRACKETS,
    "additions": "+".join(["body"] * (MAX_DEPTH - 1)),
    "attributes": "body" + ".a" * (MAX_DEPTH - 1),
}


def _deep(frames: int, fn):
    return fn() if frames == 0 else _deep(frames - 1, fn)


@pytest.mark.parametrize("source", TOO_DEEP.values(), ids=TOO_DEEP.keys())
def test_too_deep_expressions_are_e004(source):
    with pytest.raises(ExpressionError) as err:
        Expression(source)
    assert err.value.code == "E004" and str(err.value).startswith("nesting too deep")


@pytest.mark.parametrize("source", AT_THE_LIMIT.values(), ids=AT_THE_LIMIT.keys())
def test_expressions_at_the_limit_compile_even_300_frames_deep(source):
    _deep(300, lambda: Expression(source))


@pytest.mark.parametrize(
    "source",
    ["{% for a in body %}" * 500 + "{% endfor %}" * 500, "{% if body %}" * 200 + "{% endif %}" * 200,
     "{% set a %}" * 300 + "{% endset %}" * 300, "{{ " + "(" * 300 + "body" + ")" * 300 + " }}"],
    ids=["for", "if", "set block", "parens"],
)
def test_too_deep_templates_are_e004(source):
    with pytest.raises(ExpressionError) as err:
        Template(source)
    assert err.value.code == "E004"


def test_templates_at_the_block_limit_compile():
    _deep(300, lambda: Template("{% for a in body %}" * MAX_BLOCKS + "x" + "{% endfor %}" * MAX_BLOCKS))


def test_a_flow_with_a_deep_template_or_mapping_is_e004_in_lint():
    template = "{{ " + "not " * 400 + "body }}"
    flow = f'flow f {{\n  source a = memory.in()\n  transform t = template(text: "{template}")\n  sink b = memory.out()\n'
    assert "E004" in codes(flow + "  a -> t -> b\n}\n")
    mapping = "flow f {\n  source a = memory.in()\n  transform m = json.map {\n    x: " + "- " * 400 + "1\n  }\n"
    assert "E004" in codes(mapping + "  sink b = memory.out()\n  a -> m -> b\n}\n")
