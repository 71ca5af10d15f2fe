"""dsl.nesting and number limits: E004 before Lark recurses, E006 for numbers no option holds."""

from __future__ import annotations

from dsl import parse
from dsl.formatter import FormatError, format_text
from dsl.nesting import MAX_DEPTH, check_nesting


def _nested(depth: int) -> str:
    return "flow f {\n  source a = memory.in(x: " + "[" * (depth - 1) + "]" * (depth - 1) + ")\n}\n"


def test_the_limit_itself_parses():
    _, diagnostics = parse(_nested(MAX_DEPTH - 1))  # the flow's braces and the options' parens count too
    assert diagnostics == []


def test_one_bracket_more_is_e004_at_that_bracket():
    _, diagnostics = parse(_nested(MAX_DEPTH))
    assert [d.headline() for d in diagnostics] == [
        "<string>:2:57: E004 nesting too deep: more than 32 brackets open at once"
    ]


def test_thousands_of_brackets_are_one_diagnostic_not_a_recursion_error():
    text = "flow f {\n  transform m = json.map {\n    a: " + "(" * 20000 + "\n  }\n}\n"
    _, diagnostics = parse(text)
    assert [d.code for d in diagnostics] == ["E004"]
    try:
        format_text(text)
    except FormatError as err:
        assert [d.code for d in err.diagnostics] == ["E004"]


def test_brackets_in_strings_and_comments_do_not_count():
    text = 'flow f "' + "[" * 100 + '" {\n  # ' + "(" * 100 + '\n  sink s = log(message: """' + "{" * 100 + '""")\n}\n'
    assert check_nesting(text) is None


def test_numbers_out_of_range_are_e006():
    for number in ("1" + "0" * 5000, "9223372036854775808", "-1e400"):
        _, diagnostics = parse(f"flow f {{\n  source a = memory.in(x: {number})\n}}\n")
        assert [(d.code, d.span.line, d.span.col) for d in diagnostics] == [("E006", 2, 27)], number
    _, diagnostics = parse("flow f {\n  source a = memory.in(x: 9223372036854775807, y: 1.5e308)\n}\n")
    assert diagnostics == []
