"""Every token of a `.flow` text, comments included, exactly as the grammar lexes it.

The parser drops comments (`%ignore COMMENT` in flow.lark); the formatter needs
them, and so does the linter's `# flowengine: ignore[CODE]`. Rather than a
second, hand-written lexer that could disagree with the grammar about what is
a comment (a `#` inside a string or an expression is not), this runs the same
grammar through Lark once more, recording each token as it is lexed: comments
through a lexer callback (ignored tokens never reach the parser), every other
token through a post-lexer. The parser of `dsl.parser` is left untouched.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache

from lark import Lark, Token
from lark.exceptions import UnexpectedInput
from lark.lark import PostLex

from dsl.parser import GRAMMAR

Pos = tuple[int, int]
"""(line, column), both 1-based, as in `dsl.ast.Span`."""

_sink: ContextVar[list[Token] | None] = ContextVar("flow_tokens", default=None)


def _record(tok: Token) -> Token:
    out = _sink.get()
    if out is not None:
        out.append(tok)
    return tok


class _Recorder(PostLex):
    always_accept = ()

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        for tok in stream:
            yield _record(tok)


@cache
def _lark() -> Lark:
    return Lark(
        GRAMMAR.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        postlex=_Recorder(),
        lexer_callbacks={"COMMENT": _record},
    )


@dataclass(frozen=True, slots=True)
class Tok:
    type: str
    text: str
    pos: Pos
    end: Pos


class TokenIndex:
    """The tokens of one text in source order, searchable by position."""

    def __init__(self, toks: list[Tok]) -> None:
        self.tokens = toks
        self._starts = [t.pos for t in toks]

    @property
    def comments(self) -> list[Tok]:
        return [t for t in self.tokens if t.type == "COMMENT"]

    def first_after(self, pos: Pos, *types: str) -> Tok | None:
        """The first token of one of `types` starting at or after `pos`."""
        for tok in self.tokens[bisect.bisect_left(self._starts, pos) :]:
            if tok.type in types:
                return tok
        return None

    def last_before(self, pos: Pos, *types: str) -> Tok | None:
        """The last token of one of `types` starting before `pos`."""
        for tok in reversed(self.tokens[: bisect.bisect_left(self._starts, pos)]):
            if tok.type in types:
                return tok
        return None


def tokenize(text: str) -> TokenIndex | None:
    """All tokens of `text`, or None when it does not parse (see `dsl.parse` for why)."""
    found: list[Token] = []
    reset = _sink.set(found)
    try:
        _lark().parse(text)
    except UnexpectedInput:
        return None
    finally:
        _sink.reset(reset)
    toks = [
        Tok(t.type, str(t), (t.line or 1, t.column or 1), (t.end_line or 1, t.end_column or 1)) for t in found
    ]
    toks.sort(key=lambda t: t.pos)
    return TokenIndex(toks)
