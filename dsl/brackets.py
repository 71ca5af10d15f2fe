"""Name the bracket a syntax error really is about: "'(' opened at 3:14 is not closed".

An LALR parser notices a missing `)` only at the first token that cannot continue
the option list, often on the next line ("expected ':', got: '->'"), far from the
mistake. The parser's value stack still holds every bracket it has opened and not
closed; this module takes the innermost one and checks the diagnosis by repair:
it inserts the closing bracket after each token the bracket encloses, latest
first, and parses again up to the end of the error's line. Where that text now
parses to its end, the bracket is the cause and that point is where its closer
belongs.
Nothing is claimed when no insertion helps (a missing comma, say): the caller
keeps Lark's "expected ..., got ..." message.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from lark import Token, Tree
from lark.exceptions import UnexpectedInput, UnexpectedToken

_CLOSERS = {"LPAR": ")", "LSQB": "]", "LBRACE": "}"}
_MAX_TRIES = 8  # insertion points tried, latest first: a bound on the re-parses of one error


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
    if err.token.type == "$END":
        line_end = len(text)
    else:  # the text after the error's line cannot change the verdict: leave it unparsed
        start = err.token.start_pos or 0
        line_end = len(text) if text.find("\n", start) < 0 else text.index("\n", start) + 1
    for offset in _insertion_points(stack[opened[-1] :]):
        if _parses_through(parse, text[:offset] + closer + text[offset:line_end]):
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


def _parses_through(parse: Callable[[str], object], text: str) -> bool:
    """Whether `text` (cut after the error's line) parses up to its end: the repair holds."""
    try:
        parse(text)
    except UnexpectedToken as err:
        return err.token.type == "$END"
    except UnexpectedInput:
        return False
    return True


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1
