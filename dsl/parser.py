"""Parse `.flow` text into the typed AST, turning every Lark error into a Diagnostic.

The grammar lives in `flow.lark`; this module binds its rules to the dataclasses
of `dsl.ast` and translates parser states into messages a person can act on
("expected '->' or '}', got: 'when'"). Nothing here raises to the caller for
bad input: `parse` returns the file and a list of diagnostics.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import os
import re
import sys
from functools import cache
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from dsl import ast
from dsl.brackets import find_unclosed
from dsl.diagnostics import Diagnostic
from dsl.nesting import check_nesting
from dsl.source import check_text
from dsl.strings import StringSyntaxError, parse_long, parse_quoted

GRAMMAR = Path(__file__).with_name("flow.lark")

_WORD = re.compile(r"[A-Za-z0-9_.]+|->|\S")
_KEYWORDS = ["flow", "source", "transform", "sink", "branch", "when", "else", "on", "error"]

# How each terminal reads in an error message.
_TERMINAL_NAMES = {
    "NAME": "a name",
    "DOTTED_NAME": "a field name",
    "KIND": "a node kind (e.g. json.map)",
    "STRING": "a string",
    "LONG_STRING": 'a """long string"""',
    "SIGNED_NUMBER": "a number",
    "MAP_EXPR": "an expression",
    "WHEN_EXPR": "a condition",
    "$END": "end of file",
}


@cache
def _lark() -> Lark:
    """The LALR parser, from Lark's cache when it holds one (building it takes 0.02 s of
    every command's start-up, more on a busy machine; loading it 0.003 s)."""
    grammar = GRAMMAR.read_text(encoding="utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
        cache=_cache_file(grammar) or False,
    )


def _cache_file(grammar: str) -> str | None:
    """Where Lark keeps the built parser: the user's own cache directory, never a shared one
    such as /tmp (the file is a pickle, loaded as code), named by the grammar's hash so that
    checkouts with different grammars do not overwrite each other's. Lark checks its own key
    in the file (grammar, options, Lark and Python versions) and rebuilds a stale or broken
    one; it writes nothing if it cannot. None, for no cache, when there is no directory."""
    try:
        folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "flowengine"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except (OSError, RuntimeError):  # no home directory, or not writable
        return None
    return str(folder / f"flow-grammar-{hashlib.sha256(grammar.encode()).hexdigest()[:16]}.lark")


def _terminal_display() -> dict[str, str]:
    names = dict(_TERMINAL_NAMES)
    for term in _lark().terminals:
        if term.name not in names and term.pattern.type == "str":
            names[term.name] = f"'{term.pattern.value}'"
    return names


def parse(text: str, path: str = "<string>") -> tuple[ast.FlowFile, list[Diagnostic]]:
    """Parse one file. Returns the AST (empty on a syntax error) and diagnostics."""
    flow_file = ast.FlowFile(path=path, text=text)
    refused = check_text(text, path) or check_nesting(text, path)
    if refused is not None:  # before Lark: the AST builder recurses once per bracket
        return flow_file, [refused]
    try:
        tree = _lark().parse(text)
    except UnexpectedInput as err:
        return flow_file, [_syntax_diagnostic(err, text, path)]
    builder = _AstBuilder(path)
    try:
        flow_file.flows = builder.transform(tree)
    except VisitError as err:  # a bug in the builder, never the user's fault; keep it visible
        raise err.orig_exc from err
    return flow_file, builder.diagnostics


def _syntax_diagnostic(err: UnexpectedInput, text: str, path: str) -> Diagnostic:
    display = _terminal_display()
    line, col = err.line, err.column
    if line is None or line < 1:  # errors at end of input carry -1
        line, col = _end_position(text)
    expected: set[str] = set()
    got: str
    width = 1
    if isinstance(err, UnexpectedToken):
        expected = set(err.accepts or err.expected)
        tok = err.token
        if tok.type == "$END":
            got = "end of file"
            line, col = _end_position(text)
        else:
            word = _first_word(str(tok))
            got = repr(word)
            width = len(word)
    elif isinstance(err, UnexpectedCharacters):
        expected = set(err.allowed or ())
        pos = err.pos_in_stream or 0
        got = repr(text[pos]) if pos < len(text) else "end of file"
    elif isinstance(err, UnexpectedEOF):
        expected = set(err.expected)
        got = "end of file"
        line, col = _end_position(text)
    else:  # pragma: no cover - Lark has no other UnexpectedInput
        got = "?"
    wanted = sorted({display.get(t, t) for t in expected if not t.startswith("__IGNORE")})
    message = f"syntax error: expected {_one_of(wanted)}, got: {got}" if wanted else f"syntax error: unexpected {got}"
    unclosed = find_unclosed(err, text, _lark().parse)
    if unclosed is not None:  # point where the closer belongs, not where the parser gave up
        (open_line, open_col), (miss_line, miss_col) = unclosed.opened, unclosed.missing
        return Diagnostic(
            "E001",
            f"syntax error: '{unclosed.opener}' opened at {open_line}:{open_col} is not closed",
            ast.Span(path, miss_line, miss_col, miss_line, miss_col + 1),
            hint=f"insert '{unclosed.closer}' here (the parser stopped at {got}, line {line})",
        )
    span = ast.Span(path, line, col, line, col + width)
    return Diagnostic("E001", message, span, hint=_keyword_hint(text, line, col))


def _first_word(text: str) -> str:
    m = _WORD.match(text)
    return m.group(0) if m else text[:1]


def _keyword_hint(text: str, line: int, col: int) -> str | None:
    """Suggest a keyword when the word before the error is a near miss of one."""
    lines = text.split("\n")
    if not 1 <= line <= len(lines):
        return None
    before = re.findall(r"[A-Za-z_]+", lines[line - 1][: col - 1])
    if not before or before[-1] in _KEYWORDS:
        return None
    close = difflib.get_close_matches(before[-1], _KEYWORDS, n=1, cutoff=0.75)
    return f"did you mean '{close[0]}'?" if close else None


def _one_of(items: list[str]) -> str:
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " or " + items[-1]


def _end_position(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def _number(text: str) -> int | float | None:
    """The value of a number token, or None when no option could hold it: an integer
    beyond 64 bits (JSON consumers, SQLite and orjson stop there) or a float that
    overflows to infinity. The digit count is checked before `int`, which refuses
    strings of over 4,300 digits with a ValueError of its own."""
    if not any(c in text for c in ".eE"):
        if len(text.lstrip("+-")) > 19:
            return None
        value = int(text)
        return value if -(2**63) <= value < 2**63 else None
    number = float(text)
    return number if math.isfinite(number) else None


def _tok_span(path: str, tok: Token) -> ast.Span:
    return ast.Span(path, tok.line or 1, tok.column or 1, tok.end_line or tok.line or 1, tok.end_column or 1)


@v_args(meta=True)
class _AstBuilder(Transformer[Token, Any]):
    """Builds `dsl.ast` nodes; string problems become diagnostics, not exceptions."""

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.diagnostics: list[Diagnostic] = []

    def _span(self, meta: Any, fallback: ast.Span | None = None) -> ast.Span:
        if getattr(meta, "empty", True):
            return fallback or ast.Span(self.path, 1, 1, 1, 1)
        return ast.Span(self.path, meta.line, meta.column, meta.end_line, meta.end_column)

    def _string(self, tok: Token) -> ast.StringValue:
        span = _tok_span(self.path, tok)
        try:
            parts = parse_quoted(str(tok))
        except StringSyntaxError as err:
            col = span.col + err.offset
            self.diagnostics.append(
                Diagnostic("E002", str(err), ast.Span(self.path, span.line, col, span.line, col + err.length))
            )
            parts = (str(tok)[1:-1],)
        return ast.StringValue(parts, str(tok), span)

    def _plain_string(self, tok: Token) -> str:
        value = self._string(tok)
        return "".join(p if isinstance(p, str) else f"${{{p.name}}}" for p in value.parts)

    # --- file and flow -------------------------------------------------------
    def start(self, meta: Any, children: list[ast.Flow]) -> list[ast.Flow]:
        return list(children)

    def flow(self, meta: Any, children: list[Any]) -> ast.Flow:
        name, description, options, *stmts = children
        return ast.Flow(
            name=str(name),
            name_span=_tok_span(self.path, name),
            description=self._plain_string(description) if description is not None else None,
            statements=tuple(stmts),
            span=self._span(meta),
            options=tuple(options or ()),
        )

    # --- statements ----------------------------------------------------------
    def node_decl(self, meta: Any, children: list[Any]) -> ast.NodeDecl:
        role, name, kind, options, mapping = children
        return ast.NodeDecl(
            role=str(role.children[0]),
            name=str(name),
            name_span=_tok_span(self.path, name),
            kind=str(kind),
            kind_span=_tok_span(self.path, kind),
            options=tuple(options or ()),
            mapping=tuple(mapping) if mapping is not None else None,
            span=self._span(meta),
        )

    def branch_decl(self, meta: Any, children: list[Any]) -> ast.BranchDecl:
        role, name, *arms = children
        if role.children[0] != "branch":
            self.diagnostics.append(
                Diagnostic(
                    "E003",
                    f"only a branch has when/else arms; '{name}' is declared as a {role.children[0]}",
                    _tok_span(self.path, role.children[0]),
                    hint=f"write `branch {name} {{ ... }}`",
                )
            )
        return ast.BranchDecl(
            name=str(name),
            name_span=_tok_span(self.path, name),
            arms=tuple(a for a in arms if a is not None),
            span=self._span(meta),
        )

    def arm(self, meta: Any, children: list[Token]) -> ast.Arm:
        cond, target = children
        text = str(cond).rstrip()
        cspan = _tok_span(self.path, cond)
        cspan = ast.Span(self.path, cspan.line, cspan.col, cspan.line, cspan.col + len(text))
        return ast.Arm(text, cspan, str(target), _tok_span(self.path, target))

    def else_arm(self, meta: Any, children: list[Token]) -> ast.Arm:
        (target,) = children
        return ast.Arm(None, None, str(target), _tok_span(self.path, target))

    def chain(self, meta: Any, children: list[Token]) -> ast.Chain:
        names = tuple(ast.NameRef(str(t), _tok_span(self.path, t)) for t in children)
        return ast.Chain(names, self._span(meta))

    def error_route(self, meta: Any, children: list[Token | None]) -> ast.ErrorRoute:
        node, handler = children
        assert handler is not None
        ref = ast.NameRef(str(node), _tok_span(self.path, node)) if node is not None else None
        return ast.ErrorRoute(ref, ast.NameRef(str(handler), _tok_span(self.path, handler)), self._span(meta))

    # --- options and values --------------------------------------------------
    def options(self, meta: Any, children: list[ast.Option | None]) -> list[ast.Option]:
        return [c for c in children if c is not None]

    def option(self, meta: Any, children: list[Any]) -> ast.Option:
        key, value = children
        key_text = self._plain_string(key) if key.type == "STRING" else str(key)
        return ast.Option(key_text, _tok_span(self.path, key), value)

    def string(self, meta: Any, children: list[Token]) -> ast.StringValue:
        return self._string(children[0])

    def long_string(self, meta: Any, children: list[Token]) -> ast.StringValue:
        tok = children[0]
        return ast.StringValue((parse_long(str(tok)),), str(tok), _tok_span(self.path, tok))

    def number(self, meta: Any, children: list[Token]) -> ast.ScalarValue:
        tok = children[0]
        text = str(tok)
        span = _tok_span(self.path, tok)
        value = _number(text)
        if value is None:
            self.diagnostics.append(
                Diagnostic("E006", f"number out of range: {text[:20]}{'...' if len(text) > 20 else ''}", span,
                           hint=f"integers lie within ±2**63, other numbers within ±{sys.float_info.max:.3g}")
            )
            value = 0
        return ast.ScalarValue(value, text, span)

    def boolean(self, meta: Any, children: list[Token]) -> ast.ScalarValue:
        tok = children[0]
        return ast.ScalarValue(str(tok) == "true", str(tok), _tok_span(self.path, tok))

    def null(self, meta: Any, children: list[Token]) -> ast.ScalarValue:
        tok = children[0]
        return ast.ScalarValue(None, "null", _tok_span(self.path, tok))

    def list_value(self, meta: Any, children: list[Any]) -> ast.ListValue:
        return ast.ListValue(tuple(c for c in children if c is not None), self._span(meta))

    def dict_value(self, meta: Any, children: list[Any]) -> ast.DictValue:
        return ast.DictValue(tuple(c for c in children if c is not None), self._span(meta))

    # --- mapping blocks ------------------------------------------------------
    def mapping(self, meta: Any, children: list[ast.MapEntry | None]) -> list[ast.MapEntry]:
        return [c for c in children if c is not None]

    def map_entry(self, meta: Any, children: list[Token]) -> ast.MapEntry:
        key, expr = children
        path = self._plain_string(key) if key.type == "STRING" else str(key)
        text = str(expr).rstrip()
        espan = _tok_span(self.path, expr)
        espan = ast.Span(self.path, espan.line, espan.col, espan.line, espan.col + len(text))
        return ast.MapEntry(path, _tok_span(self.path, key), text, espan, quoted=key.type == "STRING")
