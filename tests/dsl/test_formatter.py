"""The formatter: one layout, comments kept, idempotent, and the same AST before and after."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl import ast, parse
from dsl.formatter import FormatError, format_text
from tests.conftest import REPO

EXAMPLES = sorted((REPO / "flows").glob("*.flow"))


def shape(node: Any) -> Any:
    """The AST without source positions: what must survive formatting."""
    if isinstance(node, ast.Span):
        return None
    if isinstance(node, ast.FlowFile):
        return shape(node.flows)
    if dataclasses.is_dataclass(node):
        return (type(node).__name__, *(shape(getattr(node, f.name)) for f in dataclasses.fields(node)))
    if isinstance(node, list | tuple):
        return tuple(shape(n) for n in node)
    return node


def assert_formats_well(text: str) -> str:
    out = format_text(text)
    assert format_text(out) == out, "not idempotent"
    before, diags_before = parse(text, "x.flow")
    after, diags_after = parse(out, "x.flow")
    assert diags_before == [] and diags_after == []
    assert shape(after) == shape(before)
    comments = [line.strip() for line in text.splitlines() if line.strip().startswith("#")]
    for comment in comments:
        assert comment in out, f"comment lost: {comment}"
    return out


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_flows_format_idempotently_to_the_same_ast(path):
    assert_formats_well(path.read_text())


def test_canonical_layout():
    messy = (
        "flow   orders \"d\"{source web=http.listen(path:\"/o\",method:\"POST\")\n"
        "transform check=json.validate(schema:\"schemas/order.schema.json\")\n"
        "transform norm = json.map { id: body.id ; customer.name: body.customer.name\n"
        "}\n"
        "branch route { when body.x == 1 -> eu else -> na }\n"
        "transform eu = json.map(mode: \"merge\") {\n  desk: \"eu\"\n}\n"
        "sink na = memory.out\n\n\n\n"
        "web->check ->norm-> route\n eu -> na\n"
        "on error -> na }\n"
    )
    assert assert_formats_well(messy) == (
        'flow orders "d" {\n'
        '  source web      = http.listen(path: "/o", method: "POST")\n'
        '  transform check = json.validate(schema: "schemas/order.schema.json")\n'
        "  transform norm  = json.map {\n"
        "      id:            body.id\n"
        "      customer.name: body.customer.name\n"
        "  }\n"
        "  branch route {\n"
        "      when body.x == 1 -> eu\n"
        "      else             -> na\n"
        "  }\n"
        '  transform eu = json.map(mode: "merge") { desk: "eu" }\n'
        "  sink na      = memory.out()\n"
        "\n"
        "  web -> check -> norm -> route\n"
        "  eu -> na\n"
        "  on error -> na\n"
        "}\n"
    )


def test_comments_keep_their_place():
    text = """# file header

flow x {   # on the flow line
  # before in

  source in=memory.in()  # after in
  sink out = memory.out(channel: "c", # after channel
     # before tags
     tags: ["a",
       "b"])
  transform m = json.map(mode:"merge") {  # opening the mapping
     a: body.a ; b.c: body.b # after b

     # before d
     "d.e": "x # not a comment"
     # last in the mapping
  } # after the mapping
  branch r {
    when body.a -> out   # first arm
    # before else
    else -> out
  }
  in -> m -> r # chain
  in
   # inside a chain
   -> out
  # last in the flow
}
# trailing the file
"""
    assert assert_formats_well(text) == """# file header

flow x {  # on the flow line
  # before in

  source in   = memory.in()  # after in
  sink out    = memory.out(
      channel: "c",  # after channel
      # before tags
      tags: ["a", "b"],
  )
  transform m = json.map(mode: "merge") {  # opening the mapping
      a:   body.a
      b.c: body.b  # after b

      # before d
      "d.e": "x # not a comment"
      # last in the mapping
  }  # after the mapping
  branch r {
      when body.a -> out  # first arm
      # before else
      else        -> out
  }
  in -> m -> r  # chain
  # inside a chain
  in -> out
  # last in the flow
}
# trailing the file
"""


def test_a_left_side_wider_than_the_alignment_limit_is_not_aligned_with_its_neighbours():
    """One long condition would push `else -> crm` 60 columns right: it stands alone instead."""
    text = (
        "flow f {\n  source in = memory.in()\n  sink t = memory.out()\n  sink crm = memory.out()\n"
        "  branch route {\n"
        '      when body.email is string and body.email.endswith(".example") -> t\n'
        "      when body.a -> crm\n      else -> crm\n  }\n  in -> route\n}\n"
    )
    out = assert_formats_well(text)
    assert '      when body.email is string and body.email.endswith(".example") -> t\n' in out
    assert "      when body.a -> crm\n      else        -> crm\n" in out


def test_long_option_lists_wrap_one_per_line_with_a_trailing_comma():
    url = "https://example.com/" + "a/" * 20
    long = f'flow x {{\n  source in = memory.in()\n  sink out = http.request(url: "{url}", method: "PUT")\n  in -> out\n}}\n'
    out = assert_formats_well(long)
    assert f'  sink out  = http.request(\n      url: "{url}",\n      method: "PUT",\n  )\n' in out


def test_wide_list_and_dict_values_open_one_item_a_line():
    steps = '[{do: "reserve_payment", undo: "release_payment"}, {do: "hold_stock", undo: "release_stock"}, {do: "ship"}]'
    text = f'flow x {{\n  source in = memory.in()\n  transform s = saga(id: "body.id", steps: {steps})\n  in -> s\n}}\n'
    assert '  transform s = saga(\n      id: "body.id",\n      steps: [\n' in assert_formats_well(text)
    assert '          {do: "hold_stock", undo: "release_stock"},\n          {do: "ship"},\n      ],\n  )\n' in format_text(text)


def test_long_strings_are_kept_verbatim():
    text = 'flow x {\n  source in = memory.in()\n  transform t = template(text: """\n    Dear {{ body.name }},\n  # not a comment\n""")\n  sink out = memory.out()\n  in -> t -> out\n}\n'
    out = assert_formats_well(text)
    assert '"""\n    Dear {{ body.name }},\n  # not a comment\n"""' in out


def test_text_that_does_not_parse_is_refused_with_its_diagnostic():
    with pytest.raises(FormatError) as err:
        format_text("flow x {\n  in => out\n}\n", "bad.flow")
    assert err.value.diagnostics[0].code == "E001"
    assert str(err.value).startswith("bad.flow:2:")


# --- generated flows -----------------------------------------------------------------------
NAMES = st.sampled_from(["a", "b", "in", "out", "norm", "route", "eu", "x_1"])
KINDS = st.sampled_from(["memory.in", "memory.out", "json.map", "log", "http.request", "some.kind"])
STRINGS = st.sampled_from(
    ['"x"', '"a # b"', '"${ENV:-d}"', '"q\\"uote"', '""', '"""\nlong # text\n  kept\n"""', '"' + "w" * 70 + '"']
)
SCALARS = st.sampled_from(["1", "-2.5", "true", "false", "null", "1e3"])
EXPRS = st.sampled_from(["body.id", 'body["items"] | length', "1 + 2", '"x;y" ~ body.z', "{'a': 1}", "body.a # note"])
CONDS = st.sampled_from(["body.a", 'body.region == "eu"', "body.n > 1 and not body.m", "'->' in body.s"])
GAP = st.sampled_from([" ", "  ", "\n", "\n\n", "\n\n\n", " # note\n", "\n  # own line\n", "\t"])
LINE_END = st.sampled_from(["\n", " # end\n", "\n\n", ";\n", "\n# own\n"])


@st.composite
def values(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.sampled_from(["str", "scalar", "list", "dict"] if depth < 2 else ["str", "scalar"]))
    if kind == "str":
        return draw(STRINGS)
    if kind == "scalar":
        return draw(SCALARS)
    items = draw(st.lists(values(depth + 1), max_size=3))
    if kind == "list":
        return "[" + draw(GAP).join(i + "," for i in items) + "]"
    return "{" + ", ".join(f"{draw(NAMES)}: {i}" for i in items) + "}"


@st.composite
def statements(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(["decl", "mapped", "branch", "chain", "error"]))
    gap = draw(GAP)
    if kind in ("decl", "mapped"):
        role = draw(st.sampled_from(["source", "transform", "sink"]))
        opts = draw(st.lists(st.tuples(NAMES, values()), max_size=4))
        text = f"{role} {draw(NAMES)}{gap}={draw(GAP)}{draw(KINDS)}"
        if opts or draw(st.booleans()):
            text += "(" + f",{draw(GAP)}".join(f"{k}:{draw(GAP)}{v}" for k, v in opts) + ")"
        if kind == "mapped":
            entries = draw(st.lists(st.tuples(st.sampled_from(["id", "a.b", '"q.k"', "total"]), EXPRS), max_size=4))
            text += " {" + draw(GAP) + "".join(f"{k}:{draw(GAP)}{e}{draw(LINE_END)}" for k, e in entries) + "}"
        return text
    if kind == "branch":
        arms = draw(st.lists(st.tuples(CONDS, NAMES), max_size=3))
        body = "".join(f"when {c}{draw(GAP)}->{draw(GAP)}{t}{draw(GAP)}" for c, t in arms)
        if draw(st.booleans()):
            body += f"else{draw(GAP)}-> {draw(NAMES)}{draw(GAP)}"
        return f"branch {draw(NAMES)} {{{draw(GAP)}{body}}}"
    if kind == "chain":
        return f"{draw(GAP)}->{draw(GAP)}".join(draw(st.lists(NAMES, min_size=2, max_size=4)))
    node = draw(st.sampled_from(["", "a ", "norm "]))
    return f"on error {node}-> {draw(NAMES)}"


@st.composite
def flow_files(draw: st.DrawFn) -> str:
    flows = []
    for _ in range(draw(st.integers(1, 2))):
        desc = draw(st.sampled_from(["", ' "a description"']))
        stmts = draw(st.lists(statements(), max_size=8))
        body = "".join(s + draw(GAP) for s in stmts)
        head = draw(st.sampled_from(["", "# head", "# head\n"]))
        flows.append(f"{head}\nflow {draw(NAMES)}{desc} {{{draw(GAP)}{body}}}")
    return draw(GAP).join(flows) + draw(st.sampled_from(["", "\n", "\n# tail\n"]))


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(flow_files())
def test_generated_flows_format_idempotently_to_the_same_ast(text):
    _, diagnostics = parse(text, "gen.flow")
    assert diagnostics == [], f"the generator made a flow that does not parse:\n{text}"
    assert_formats_well(text)
