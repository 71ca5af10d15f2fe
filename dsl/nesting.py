"""A linear pre-scan that refuses flow text nested deeper than the parser can take.

Lark's LALR parser is iterative, but building the AST, formatting, compiling
and Jinja's parsing of expressions recurse once per bracket level; thousands of
`[` end in a RecursionError deep in a library. This scan runs first, in one
pass without recursion, and reports E004 at the opening bracket that goes past
`MAX_DEPTH`. It skips comments and string literals as the grammar lexes them;
brackets inside expressions count (they nest in Jinja's parser too).
Mismatched brackets are left to the parser, which says what it expected.
"""

from __future__ import annotations

from dsl.ast import Span
from dsl.diagnostics import Diagnostic

MAX_DEPTH = 32
"""Brackets `( [ {` open at once, the flow's own braces included."""

_OPEN = "([{"
_CLOSE = ")]}"


def check_nesting(text: str, path: str = "<string>") -> Diagnostic | None:
    """E004 at the first bracket nested deeper than MAX_DEPTH, else None."""
    depth = 0
    line, line_start = 1, 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line, line_start = line + 1, i + 1
        elif ch == "#":
            i = _line_end(text, i)
            continue
        elif text.startswith('"""', i):
            end = text.find('"""', i + 3)
            stop = n if end < 0 else end + 3
            line += text.count("\n", i, stop)
            line_start = text.rfind("\n", 0, stop) + 1 if "\n" in text[i:stop] else line_start
            i = stop
            continue
        elif ch in "\"'":
            i = _quoted_end(text, i, ch)
            continue
        elif ch in _OPEN:
            depth += 1
            if depth > MAX_DEPTH:
                col = i - line_start + 1
                return Diagnostic(
                    "E004",
                    f"nesting too deep: more than {MAX_DEPTH} brackets open at once",
                    Span(path, line, col, line, col + 1),
                    hint="flatten the value or the expression",
                )
        elif ch in _CLOSE and depth:
            depth -= 1
        i += 1
    return None


def _line_end(text: str, i: int) -> int:
    end = text.find("\n", i)
    return len(text) if end < 0 else end


def _quoted_end(text: str, i: int, quote: str) -> int:
    """Just past the closing quote, or the end of the line (strings never span lines)."""
    j = i + 1
    while j < len(text) and text[j] != "\n":
        if text[j] == "\\":
            j += 2
            continue
        if text[j] == quote:
            return j + 1
        j += 1
    return min(j, len(text))
