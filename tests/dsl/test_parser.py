"""The parser: valid flows become the typed AST; invalid ones give exact diagnostics."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dsl import ast, parse

FULL = """# a comment line
flow orders "Web orders" {
  source web = http.listen(path: "/orders", method: "POST")   # trailing comment
  transform norm = json.map {
      id:       body.id
      customer.name: body.customer.name
      "a.b":    "x # not a comment"
  }
  branch route {
      when body.region == "eu" -> eu
      else -> rest
  }
  sink eu = memory.out(tags: ["a", 1, 2.5, -3, true, false, null, {k: "v"}])
  sink rest = memory.out()
  web -> norm -> route
  on error norm -> rest
  on error -> rest
}
"""


def only_flow(text: str) -> ast.Flow:
    f, diags = parse(text, "t.flow")
    assert diags == []
    (flow,) = f.flows
    return flow


def test_full_flow_builds_typed_ast_with_spans():
    flow = only_flow(FULL)
    assert flow.name == "orders"
    assert flow.description == "Web orders"
    kinds = [type(s).__name__ for s in flow.statements]
    assert kinds == ["NodeDecl", "NodeDecl", "BranchDecl", "NodeDecl", "NodeDecl", "Chain", "ErrorRoute", "ErrorRoute"]
    web = flow.statements[0]
    assert isinstance(web, ast.NodeDecl)
    assert (web.role, web.name, web.kind) == ("source", "web", "http.listen")
    assert web.name_span == ast.Span("t.flow", 3, 10, 3, 13)
    assert web.kind_span == ast.Span("t.flow", 3, 16, 3, 27)
    assert [o.key for o in web.options] == ["path", "method"]


def test_mapping_entries_keep_expression_text_and_quoting():
    norm = only_flow(FULL).statements[1]
    assert isinstance(norm, ast.NodeDecl) and norm.mapping is not None
    assert [(e.path, e.expr, e.quoted) for e in norm.mapping] == [
        ("id", "body.id", False),
        ("customer.name", "body.customer.name", False),
        ("a.b", '"x # not a comment"', True),
    ]
    assert norm.mapping[0].expr_span == ast.Span("t.flow", 5, 17, 5, 24)


def test_branch_arms_and_else():
    route = only_flow(FULL).statements[2]
    assert isinstance(route, ast.BranchDecl)
    assert [(a.condition, a.target) for a in route.arms] == [('body.region == "eu"', "eu"), (None, "rest")]
    assert route.has_else


def test_literal_values():
    eu = only_flow(FULL).statements[3]
    assert isinstance(eu, ast.NodeDecl)
    (tags,) = eu.options
    assert isinstance(tags.value, ast.ListValue)
    scalars = [v.value for v in tags.value.items if isinstance(v, ast.ScalarValue)]
    assert scalars == [1, 2.5, -3, True, False, None]
    assert isinstance(tags.value.items[0], ast.StringValue)
    assert isinstance(tags.value.items[-1], ast.DictValue)


def test_chains_and_error_routes():
    flow = only_flow(FULL)
    chain, node_route, flow_route = flow.statements[5:]
    assert isinstance(chain, ast.Chain) and [n.name for n in chain.names] == ["web", "norm", "route"]
    assert isinstance(node_route, ast.ErrorRoute) and node_route.node is not None
    assert (node_route.node.name, node_route.handler.name) == ("norm", "rest")
    assert isinstance(flow_route, ast.ErrorRoute) and flow_route.node is None


def test_string_escapes_and_env_references():
    flow = only_flow('flow f { source s = memory.in(a: "q\\"\\n\\t\\u00e9\\u{1F600}\\$x ${HOST} ${PORT:-80}") }')
    node = flow.statements[0]
    assert isinstance(node, ast.NodeDecl)
    value = node.options[0].value
    assert isinstance(value, ast.StringValue)
    assert value.parts == ('q"\n\té\U0001f600$x ', ast.EnvRef("HOST", None), " ", ast.EnvRef("PORT", "80"))


def test_long_strings_are_raw_and_dedented():
    flow = only_flow('flow f {\n  transform t = template(text: """\n    <a>{{ body.x }}</a>\n      \\n\n    """)\n}')
    node = flow.statements[0]
    assert isinstance(node, ast.NodeDecl)
    value = node.options[0].value
    assert isinstance(value, ast.StringValue)
    assert value.parts == ("<a>{{ body.x }}</a>\n  \\n\n",)


def test_one_line_mapping_with_semicolons():
    flow = only_flow("flow f { transform m = json.map { a: 1; b: body.x } }")
    node = flow.statements[0]
    assert isinstance(node, ast.NodeDecl) and node.mapping is not None
    assert [(e.path, e.expr) for e in node.mapping] == [("a", "1"), ("b", "body.x")]


def test_several_flows_in_one_file():
    f, diags = parse("flow a { }\nflow b { }", "t.flow")
    assert diags == [] and [x.name for x in f.flows] == ["a", "b"]


def render(text: str) -> str:
    _, diags = parse(text, "bad.flow")
    assert len(diags) == 1
    return diags[0].render(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "flow x {\n  source a = \n}",
            "bad.flow:3:1: E001 syntax error: expected a node kind (e.g. json.map), got: '}'\n    }\n    ^",
        ),
        (
            "flow x {\n  sorce a = memory.in()\n}",
            "bad.flow:2:9: E001 syntax error: expected '->', got: 'a'\n"
            "      sorce a = memory.in()\n"
            "            ^\n"
            "    hint: did you mean 'source'?",
        ),
        (
            'flow x { source a = m.in(x: "\\q") }',
            "bad.flow:1:30: E002 unknown escape sequence '\\q'; valid: \\\" \\\\ \\n \\r \\t \\$ \\uXXXX\n"
            '    flow x { source a = m.in(x: "\\q") }\n'
            "                                 ^~",
        ),
        (
            "flow x { branch b { when -> x } }",
            "bad.flow:1:26: E001 syntax error: expected a condition, got: '->'\n"
            "    flow x { branch b { when -> x } }\n"
            "                             ^~",
        ),
        ("", "bad.flow:1:1: E001 syntax error: expected 'flow', got: end of file"),
        (
            'flow x {\n  source a = m.in(x: "${BAD")\n}',
            "bad.flow:2:23: E002 malformed environment reference; expected ${NAME} or ${NAME:-default}\n"
            '      source a = m.in(x: "${BAD")\n'
            "                          ^~~~~",
        ),
        (
            "flow x {\n  sink a {\n    when body.x -> b\n  }\n}",
            "bad.flow:2:3: E003 only a branch has when/else arms; 'a' is declared as a sink\n"
            "      sink a {\n"
            "      ^~~~\n"
            "    hint: write `branch a { ... }`",
        ),
        (
            "flow x {\n  a -> b ->\n}",
            "bad.flow:3:1: E001 syntax error: expected a name, got: '}'\n    }\n    ^",
        ),
    ],
)
def test_syntax_errors_render_exactly(text: str, expected: str):
    assert render(text) == expected


def test_error_at_end_of_file():
    _, diags = parse("flow x {\n  a -> b\n", "bad.flow")
    (d,) = diags
    assert d.message == "syntax error: '{' opened at 1:8 is not closed"
    assert (d.span.line, d.span.col) == (2, 9)  # right after the last statement, where '}' belongs
    assert d.hint == "insert '}' here (the parser stopped at end of file, line 3)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # a trailing comma: the next line's `sink` reads as an option key
            'flow f {\n  source in = memory.in(channel: "a",\n  sink out = memory.out()\n  in -> out\n}\n',
            "bad.flow:2:38: E001 syntax error: '(' opened at 2:24 is not closed\n"
            '      source in = memory.in(channel: "a",\n'
            "                                         ^\n"
            "    hint: insert ')' here (the parser stopped at 'out', line 3)",
        ),
        (
            "flow f {\n  source in = memory.in(\n  in -> out\n}\n",
            "bad.flow:2:25: E001 syntax error: '(' opened at 2:24 is not closed\n"
            "      source in = memory.in(\n"
            "                            ^\n"
            "    hint: insert ')' here (the parser stopped at '->', line 3)",
        ),
        (
            "flow f {\n  transform t = json.map {\n      a: body.x\n  sink out = memory.out()\n}\n",
            "bad.flow:3:16: E001 syntax error: '{' opened at 2:26 is not closed\n"
            "          a: body.x\n"
            "                   ^\n"
            "    hint: insert '}' here (the parser stopped at 'out', line 4)",
        ),
        (
            'flow f {\n  source in = memory.in(tags: ["a", "b")\n}\n',
            "bad.flow:2:40: E001 syntax error: '[' opened at 2:31 is not closed\n"
            '      source in = memory.in(tags: ["a", "b")\n'
            "                                           ^\n"
            "    hint: insert ']' here (the parser stopped at ')', line 2)",
        ),
    ],
)
def test_an_unclosed_bracket_is_named_where_its_closer_belongs(text: str, expected: str):
    assert render(text) == expected


def test_a_missing_comma_in_a_wrapped_option_list_is_not_blamed_on_the_bracket():
    """Closing the `(` early does not help the parse past line 3: Lark's own message stays."""
    text = 'flow f {\n  sink c = http.request(url: "x"\n      method: "GET")\n}\n'
    assert render(text).splitlines()[0] == "bad.flow:3:7: E001 syntax error: expected ')' or ',', got: 'method'"


_PARSE_IN_A_FRESH_PROCESS = """
import sys
from dsl import parse
for text in sys.argv[1:]:
    flow_file, diags = parse(text, "t.flow")
    print(repr(flow_file.flows), [d.render(text) for d in diags])
"""


def test_the_cached_parser_parses_like_a_fresh_one(tmp_path):
    """Lark's cache of the built parser: written on first use, loaded after, rebuilt when broken,
    skipped when there is nowhere to write it; the AST and the syntax errors never change."""

    def parse_with_cache_in(cache_home: Path) -> str:
        env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
        texts = [FULL, "flow x {\n  a -> b\n", "flow x {\n  sink a {\n}"]
        proc = subprocess.run([sys.executable, "-c", _PARSE_IN_A_FRESH_PROCESS, *texts], env=env,
                              capture_output=True, text=True, timeout=60)  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    built = parse_with_cache_in(tmp_path)
    (cached,) = (tmp_path / "flowengine").glob("*.lark")
    assert parse_with_cache_in(tmp_path) == built
    cached.write_bytes(cached.read_bytes()[:100])  # cut short, as by a crash while writing
    assert parse_with_cache_in(tmp_path) == built
    (tmp_path / "a-file").write_text("")
    assert parse_with_cache_in(tmp_path / "a-file") == built  # no directory can be made there
