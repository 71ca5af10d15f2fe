"""editors/flowengine.tmLanguage.json: every regex runs on Python's `re` as on Oniguruma,
every example flow closes every block it opens, the real lexer's tokens get the
scopes an editor colours by, and a sample's key tokens are scoped exactly."""

from __future__ import annotations

import json
import re

import pytest

from dsl.tokens import tokenize
from tests.conftest import REPO
from tests.editors.textmate import Grammar, scopes_at

GRAMMAR = Grammar(json.loads((REPO / "editors/flowengine.tmLanguage.json").read_text()))
FENCED = re.compile(r"```flow\n(.*?)```", re.S)


def examples() -> list[tuple[str, str]]:
    """Every example flow, and every ```flow block in docs/ that the language accepts."""
    found = [(p.name, p.read_text()) for p in sorted((REPO / "flows").glob("*.flow"))]
    for doc in sorted((REPO / "docs").glob("*.md")):
        for i, block in enumerate(FENCED.findall(doc.read_text())):
            if tokenize(block) is not None:
                found.append((f"{doc.name}#{i}", block))
    return found


EXAMPLES = examples()
# What the editor must call each token of the real lexer (dsl.tokens), by token type.
EXPECTED = {
    "COMMENT": ("comment.line.number-sign.flowengine",),
    "FLOW": ("keyword.other.flow.flowengine",),
    "SOURCE": ("storage.type.role.flowengine",),
    "TRANSFORM": ("storage.type.role.flowengine",),
    "BRANCH": ("storage.type.role.flowengine",),
    "SINK": ("storage.type.role.flowengine",),
    "KIND": ("support.function.kind.flowengine",),
    "STRING": ("string.quoted.double.flowengine", "variable.other.field.flowengine"),
    "LONG_STRING": ("string.quoted.triple.flowengine",),
    "SIGNED_NUMBER": ("constant.numeric.flowengine",),
    "WHEN": ("keyword.control.conditional.when.flowengine",),
    "ELSE": ("keyword.control.conditional.else.flowengine",),
    "ON": ("keyword.control.on-error.flowengine",),
    "ERROR": ("keyword.control.on-error.flowengine",),
    "DOTTED_NAME": ("variable.other.field.flowengine",),
    "NAME": (
        "entity.name.type.flow.flowengine",
        "entity.name.function.node.flowengine",
        "variable.other.node.flowengine",
        "variable.parameter.option.flowengine",
    ),
    "TRUE": ("constant.language.flowengine",),
    "FALSE": ("constant.language.flowengine",),
    "NULL": ("constant.language.flowengine",),
}
EXPRESSIONS = ("MAP_EXPR", "WHEN_EXPR")


def test_every_regex_compiles_with_python_re():
    regexes = GRAMMAR.regexes()
    assert len(regexes) > 30
    for source in regexes:
        re.compile(source)


def test_there_are_examples_from_flows_and_docs():
    assert len([n for n, _ in EXAMPLES if n.endswith(".flow")]) >= 7 and len(EXAMPLES) > 10


@pytest.mark.parametrize(("name", "text"), EXAMPLES, ids=[n for n, _ in EXAMPLES])
def test_the_real_lexers_tokens_get_their_scopes(name: str, text: str):
    tokens, still_open = GRAMMAR.tokenize(text)
    assert still_open == 0, f"{name}: a block is still open at the end"
    index = tokenize(text)
    assert index is not None
    for tok in index.tokens:
        line, col = tok.pos[0] - 1, tok.pos[1] - 1
        scopes = scopes_at(tokens, line, col)
        where = f"{name}:{tok.pos[0]}:{tok.pos[1]} {tok.type} {tok.text!r} got {scopes}"
        if tok.type in EXPECTED:
            assert any(s in scopes for s in EXPECTED[tok.type]), where
        elif tok.type in EXPRESSIONS:
            for offset, char in enumerate(tok.text.rstrip()):
                if not char.isspace():
                    inside = scopes_at(tokens, line, col + offset)
                    assert any(s.startswith("meta.expression") for s in inside), f"{where}: +{offset} {inside}"
        elif tok.text == "->":
            assert "keyword.operator.arrow.flowengine" in scopes, where
        assert "comment.line.number-sign.flowengine" not in scopes or tok.type == "COMMENT", where


SAMPLE = r"""# a comment
flow sample "Says \"hi\" # not a comment" {
  source web = http.listen(path: "/in", max_body_bytes: 65536, strict: true)
  sink out = http.request(url: "${API_URL:-http://localhost:8091}/x", headers: {"x-id": "{{ body.id }}"})
  transform norm = json.map {
      region: body.country | lower   # the region
      big:    body.total >= 100 and body.kind in ["a", "b"]
  }
  branch route {
      when body.region == "eu" -> out
      else -> out
  }
  web -> norm -> route
  on error -> out
}
"""


def scope(text: str, needle: str, line: int, nth: int = 0) -> tuple[str, ...]:
    """The scopes of the first character of the `nth` `needle` on 0-based `line`."""
    tokens, _ = GRAMMAR.tokenize(text)
    row = text.splitlines()[line]
    col = -1
    for _ in range(nth + 1):
        col = row.index(needle, col + 1)
    return scopes_at(tokens, line, col)


@pytest.mark.parametrize(
    ("needle", "line", "nth", "expected"),
    [
        ("#", 0, 0, "comment.line.number-sign.flowengine"),
        ("flow", 1, 0, "keyword.other.flow.flowengine"),
        ("sample", 1, 0, "entity.name.type.flow.flowengine"),
        ('\\"', 1, 0, "constant.character.escape.flowengine"),
        ("#", 1, 0, "string.quoted.double.flowengine"),
        ("source", 2, 0, "storage.type.role.flowengine"),
        ("web", 2, 0, "entity.name.function.node.flowengine"),
        ("http.listen", 2, 0, "support.function.kind.flowengine"),
        ("max_body_bytes", 2, 0, "variable.parameter.option.flowengine"),
        ("65536", 2, 0, "constant.numeric.flowengine"),
        ("true", 2, 0, "constant.language.flowengine"),
        ("${", 3, 0, "variable.other.env.flowengine"),
        ("API_URL", 3, 0, "variable.other.env.name.flowengine"),
        (":-", 3, 0, "keyword.operator.default.flowengine"),
        ("http://localhost", 3, 0, "string.unquoted.default.flowengine"),
        ("{{", 3, 0, "meta.embedded.template.flowengine"),
        ("body", 3, 0, "variable.language.message.flowengine"),
        ("region", 5, 0, "variable.other.field.flowengine"),
        ("|", 5, 0, "keyword.operator.filter.flowengine"),
        ("lower", 5, 0, "support.function.filter.flowengine"),
        ("#", 5, 0, "comment.line.number-sign.flowengine"),
        (">=", 6, 0, "keyword.operator.comparison.flowengine"),
        ("100", 6, 0, "constant.numeric.flowengine"),
        ("and", 6, 0, "keyword.operator.logical.flowengine"),
        ("in", 6, 1, "keyword.operator.logical.flowengine"),
        ('"a"', 6, 0, "string.quoted.double.flowengine"),
        ("route", 8, 0, "entity.name.function.node.flowengine"),
        ("when", 9, 0, "keyword.control.conditional.when.flowengine"),
        ("==", 9, 0, "meta.expression.condition.flowengine"),
        ("->", 9, 0, "keyword.operator.arrow.flowengine"),
        ("out", 9, 0, "variable.other.node.flowengine"),
        ("else", 10, 0, "keyword.control.conditional.else.flowengine"),
        ("->", 12, 1, "keyword.operator.arrow.flowengine"),
        ("route", 12, 0, "variable.other.node.flowengine"),
        ("on", 13, 0, "keyword.control.on-error.flowengine"),
        ("error", 13, 0, "keyword.control.on-error.flowengine"),
    ],
)
def test_sample_tokens(needle: str, line: int, nth: int, expected: str):
    assert expected in scope(SAMPLE, needle, line, nth)


def test_the_sample_is_a_valid_flow():
    assert tokenize(SAMPLE) is not None


def test_the_vscode_extension_points_at_the_grammar():
    manifest = json.loads((REPO / "editors/package.json").read_text())
    (language,) = manifest["contributes"]["languages"]
    (grammar,) = manifest["contributes"]["grammars"]
    assert language["extensions"] == [".flow"] and grammar["language"] == language["id"]
    assert grammar["scopeName"] == GRAMMAR.data["scopeName"] == "source.flowengine"
    assert (REPO / "editors" / grammar["path"]).resolve() == REPO / "editors/flowengine.tmLanguage.json"
    config = json.loads((REPO / "editors" / language["configuration"]).read_text())
    assert config["comments"]["lineComment"] == "#"
