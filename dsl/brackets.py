"""Name the bracket a syntax error really is about: "'(' opened at 3:14 is not closed".

An LALR parser notices a missing `)` only at the first token that cannot continue
the option list, often on the next line ("expected ':', got: '->'"), far from the
mistake. The parser's value stack still holds every bracket it has opened and not
closed; this module takes the innermost one and checks the diagnosis by repair:
it inserts the closing bracket after each token the bracket encloses, latest
first, and parses again. Where that lets the parse get past the line of the
error, the bracket is the cause and that point is where its closer belongs.
Nothing is claimed when no insertion helps (a missing comma, say): the caller
keeps Lark's "expected ..., got ..." message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lark import Token, Tree
from lark.exceptions import UnexpectedInput, UnexpectedToken

_CLOSERS = {"LPAR": ")", "LSQB": "]", "LBRACE": "}"}
_MAX_TRIES = 32  # insertion points tried, latest first: a bound on the re-parses of one error


@dataclass(frozen=True, slots=True)
class Unclosed:
    """An open bracket and where its closer is missing (1-based lines and columns)."""

    opener: str
    opened: tuple[int, int]
    closer: str
    missing: tuple[int, int]


def find_unclosed(err: UnexpectedInput, text: str, parse: Callable[[str], object]) -> Unclosed | None:
    """The innermost open bracket at `err` when closing it lets `parse` read past the error's line."""
    if not isinstance(err, UnexpectedToken) or err.interactive_parser is None:
        return None
    stack = err.interactive_parser.parser_state.value_stack
    opened = [i for i, v in enumerate(stack) if isinstance(v, Token) and v.type in _CLOSERS]
    if not opened:
        return None
    bracket: Token = stack[opened[-1]]
    closer = _CLOSERS[bracket.type]
    error_line = err.token.line if err.token.type != "$END" else text.count("\n") + 1
    for offset in _insertion_points(stack[opened[-1] :]):
        if _parses_past(parse, text[:offset] + closer + text[offset:], error_line or 0):
            return Unclosed(bracket.value, (bracket.line or 1, bracket.column or 1), closer, _position(text, offset))
    return None


def _insertion_points(enclosed: list[object]) -> Iterator[int]:
    """Offsets just after the bracket and after each token or subtree it encloses, latest first
    (the point before the bad token is the last of these, save for blanks and comments)."""
    points = set()
    for item in enclosed:
        if isinstance(item, Token) and item.end_pos is not None:
            points.add(item.end_pos)
        elif isinstance(item, Tree) and not item.meta.empty:
            points.add(item.meta.end_pos)
    yield from sorted(points, reverse=True)[:_MAX_TRIES]


def _parses_past(parse: Callable[[str], object], text: str, line: int) -> bool:
    try:
        parse(text)
    except UnexpectedInput as err:
        return (err.line or 0) > line
    return True


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
