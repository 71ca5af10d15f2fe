"""`flowengine fmt`: one canonical layout for `.flow` files, comments kept.

The layout is computed from the AST, never from the input's spacing, so any two
ways of writing the same flow format alike and `format_text` is idempotent:

- two spaces of indent in a flow, four more inside `{ ... }` blocks and wrapped
  option lists; one statement per line; runs of blank lines become one, and
  blank lines at the start or end of a block go;
- the `=` of consecutive declarations, the values of consecutive mapping
  entries and the `->` of consecutive branch arms are aligned (a blank line
  ends a run), as authors already do by hand; a left side wider than
  `ALIGN_LIMIT` (a long `when` condition) ends the run and stands alone, since
  padding its neighbours that far would put their right sides out of sight;
- options stay on the declaration's line unless it would pass 100 columns or a
  comment sits among them; then one per line with a trailing comma;
- a mapping with one entry is written inline, `json.map { desk: "eu" }`;
- strings, numbers and expressions are kept exactly as written.

Comments are attached by position: a comment on its own line goes before the
element that follows it, one after code on a line stays at the end of that
line. A comment in a place with no line of its own in the layout (between a
kind and its `(`) moves up to before its statement. None is ever dropped:
`FormatError` is raised rather than lose one.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dsl import ast
from dsl.diagnostics import Diagnostic
from dsl.parser import parse
from dsl.tokens import Pos, Tok, TokenIndex, tokenize

WIDTH = 100
BODY = 2
BLOCK = 4
ALIGN_LIMIT = 60  # so that the right sides start within the first 70 of the 100 columns


class FormatError(Exception):
    """The text cannot be formatted: it does not parse (see `diagnostics`)."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__(diagnostics[0].headline() if diagnostics else "cannot format")
        self.diagnostics = diagnostics


def format_text(text: str, path: str = "<string>") -> str:
    """The canonical layout of `text`. Raises FormatError when it does not parse cleanly."""
    flow_file, diagnostics = parse(text, path)
    if diagnostics:
        raise FormatError(diagnostics)
    index = tokenize(text)
    assert index is not None, "dsl.parse accepted text the token recorder rejects"
    return _Printer(text, index).file(flow_file)


def _start(span: ast.Span) -> Pos:
    return (span.line, span.col)


def _end(span: ast.Span) -> Pos:
    return (span.end_line, span.end_col)


@dataclass
class _Item:
    """One line-starting element of a block: a statement, option, entry or arm."""

    start: Pos
    end: Pos
    render: Callable[[int], list[str]]  # given the run's alignment width
    width: int | None = None  # what it needs aligned; None: not aligned with neighbours
    inner: tuple[Pos, Pos] | None = None  # a region whose comments the item places itself


class _Printer:
    def __init__(self, text: str, index: TokenIndex) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.index = index
        self.comments = index.comments
        self.used = [False] * len(self.comments)
        self.out: list[str] = []

    # --- comments ------------------------------------------------------------
    def take(self, lo: Pos, hi: Pos) -> list[Tok]:
        """Claim the not yet placed comments in [lo, hi)."""
        found = []
        for i, c in enumerate(self.comments):
            if not self.used[i] and lo <= c.pos < hi:
                self.used[i] = True
                found.append(c)
        return found

    def trailing(self, end: Pos, limit: Pos) -> str:
        """The comment after `end` on its line (before `limit`), as a line suffix."""
        found = self.take(end, min(limit, (end[0] + 1, 1)))
        return "".join("  " + c.text.rstrip() for c in found)

    def own_lines(self, comments: Sequence[Tok], indent: int) -> None:
        self.out.extend(" " * indent + c.text.rstrip() for c in comments)

    def blank_between(self, a: int, b: int) -> bool:
        """Whether a blank source line lies strictly between lines a and b."""
        return any(not self.lines[i - 1].strip() for i in range(a + 1, b))

    def src(self, span: ast.Span) -> str:
        """The source text of a one-line span."""
        return self.lines[span.line - 1][span.col - 1 : span.end_col - 1]

    # --- blocks --------------------------------------------------------------
    def gap(self, last: int | None, line: int) -> None:
        """Keep one blank line where the source had at least one."""
        if last is not None and self.blank_between(last, line) and self.out and self.out[-1]:
            self.out.append("")

    def comment_lines(self, comments: Sequence[Tok], last: int | None, indent: int) -> int | None:
        for c in comments:
            self.gap(last, c.pos[0])
            self.own_lines([c], indent)
            last = c.pos[0]
        return last

    def block(self, items: list[_Item], indent: int, lo: Pos, close: Pos) -> None:
        """Emit items with their comments; comments left before `close` end the block."""
        widths = _run_widths(items, self.blank_between)
        last: int | None = None
        for i, item in enumerate(items):
            last = self.comment_lines(self.take(lo, item.start), last, indent)
            self.gap(last, item.start[0])
            if item.inner is None:  # a comment inside a one-line item moves above it
                self.own_lines(self.take(item.start, item.end), indent)
            lines = item.render(widths[i])
            limit = items[i + 1].start if i + 1 < len(items) else close
            lines[-1] += self.trailing(item.end, limit)
            self.out.extend(" " * indent + line if line else "" for line in lines)
            last, lo = item.end[0], item.end
        self.comment_lines(self.take(lo, close), last, indent)

    # --- file and flow ---------------------------------------------------------
    def file(self, flow_file: ast.FlowFile) -> str:
        end = (len(self.lines) + 1, 1)
        last: int | None = None
        for flow in flow_file.flows:
            if last is not None:
                self.out.append("")
            last = self.comment_lines(self.take((1, 1), _start(flow.span)), last, 0)
            self.gap(last, flow.span.line)
            self.flow(flow)
            self.out[-1] += self.trailing(_end(flow.span), end)
            last = flow.span.end_line
        self.comment_lines(self.take((1, 1), end), last, 0)
        if not all(self.used):  # pragma: no cover - a bug, never the user's fault
            lost = self.comments[self.used.index(False)]
            raise AssertionError(f"formatter would drop the comment at line {lost.pos[0]}")
        return "\n".join(self.out) + "\n"

    def flow(self, flow: ast.Flow) -> None:
        lbrace = self.index.first_after(_end(flow.name_span), "LBRACE")
        assert lbrace is not None
        desc = self.index.first_after(_end(flow.name_span), "STRING", "LBRACE")
        head = f"flow {flow.name}"
        if desc is not None and desc.type == "STRING":
            head += f" {desc.text}"
        if flow.options:
            head += " (" + ", ".join(f"{self.src(o.key_span)}: {self.value(o.value)}" for o in flow.options) + ")"
        self.own_lines(self.take(_start(flow.span), lbrace.pos), 0)
        close = (flow.span.end_line, flow.span.end_col - 1)
        items = [self.statement(s) for s in flow.statements]
        self.out.append(head + " {" + self.trailing(lbrace.end, items[0].start if items else close))
        self.block(items, BODY, lbrace.end, close)
        self.out.append("}")

    # --- statements ------------------------------------------------------------
    def statement(self, stmt: ast.Statement) -> _Item:
        if isinstance(stmt, ast.NodeDecl):
            return self.node_decl(stmt)
        if isinstance(stmt, ast.BranchDecl):
            return self.branch(stmt)
        if isinstance(stmt, ast.Chain):
            text = " -> ".join(n.name for n in stmt.names)
        else:
            text = "on error " + (f"{stmt.node.name} " if stmt.node else "") + f"-> {stmt.handler.name}"
        return _Item(_start(stmt.span), _end(stmt.span), lambda _w: [text])

    def node_decl(self, decl: ast.NodeDecl) -> _Item:
        lpar = self.index.first_after(_end(decl.kind_span), "LPAR", "LBRACE")
        has_parens = lpar is not None and lpar.type == "LPAR" and lpar.pos < _end(decl.span)
        rpar = self.index.first_after(lpar.end, "RPAR") if has_parens and lpar else None
        after_options = rpar.end if rpar else _end(decl.kind_span)
        lbrace = self.index.first_after(after_options, "LBRACE") if decl.mapping is not None else None
        close = (decl.span.end_line, decl.span.end_col - 1)
        head = f"{decl.role} {decl.name}"

        def render(width: int) -> list[str]:
            # comments between the tokens that own no line of their own go above the statement
            gaps = self.take(_start(decl.span), lpar.pos if has_parens and lpar else after_options)
            if lbrace is not None:
                gaps += self.take(after_options, lbrace.pos)
            lines = [c.text.rstrip() for c in gaps]
            first = head.ljust(width) + " = " + decl.kind
            lines += self.options(decl, first, lpar if has_parens else None, rpar)
            if decl.mapping is not None and lbrace is not None:
                self.mapping(decl.mapping, lines, lbrace, close)
            return lines

        return _Item(_start(decl.span), _end(decl.span), render, width=len(head), inner=(_start(decl.span), close))

    def options(self, decl: ast.NodeDecl, first: str, lpar: Tok | None, rpar: Tok | None) -> list[str]:
        texts = [self.option(o) for o in decl.options]
        inline = first + ("(" + ", ".join(texts) + ")" if texts or decl.mapping is None else "")
        crowded = lpar is not None and rpar is not None and self._has_comments(lpar.end, rpar.pos)
        if not crowded and (not texts or _fits(inline)):
            return [inline]
        assert lpar is not None and rpar is not None
        room = WIDTH - BODY - BLOCK
        items = [
            _Item(_start(o.key_span), _option_end(o), functools.partial(self._option_item, o, room))
            for o in decl.options
        ]
        return self.sub_block(first + "(", items, lpar, rpar.pos, ")")

    def option(self, opt: ast.Option) -> str:
        return f"{self.src(opt.key_span)}: {self.value(opt.value)}"

    def _option_item(self, opt: ast.Option, room: int, _width: int) -> list[str]:
        return _comma(self.option_lines(opt, room))

    def option_lines(self, opt: ast.Option, room: int) -> list[str]:
        """`key: value` in `room` columns; a list or dict too wide for them opens, one item a line."""
        key = f"{self.src(opt.key_span)}: "
        first, *rest = self.value_lines(opt.value, room - len(key))
        return [key + first, *rest]

    def value_lines(self, value: ast.Value, room: int) -> list[str]:
        inline = self.value(value)
        if len(inline.split("\n", 1)[0]) <= room or not isinstance(value, ast.ListValue | ast.DictValue):
            return [inline]
        if isinstance(value, ast.ListValue):
            parts = [_comma(self.value_lines(v, room - BLOCK)) for v in value.items]
            opener, closer = "[", "]"
        else:
            parts = [_comma(self.option_lines(o, room - BLOCK)) for o in value.entries]
            opener, closer = "{", "}"
        if not parts:
            return [inline]
        return [opener, *(" " * BLOCK + line if line else line for part in parts for line in part), closer]

    def value(self, value: ast.Value) -> str:
        if isinstance(value, ast.StringValue | ast.ScalarValue):
            return value.source
        if isinstance(value, ast.ListValue):
            return "[" + ", ".join(self.value(v) for v in value.items) + "]"
        return "{" + ", ".join(self.option(o) for o in value.entries) + "}"

    def mapping(self, entries: tuple[ast.MapEntry, ...], lines: list[str], lbrace: Tok, close: Pos) -> None:
        texts = [(self.src(e.path_span) + ":", e.expr) for e in entries]
        if len(texts) <= 1 and not self._has_comments(lbrace.end, close):
            inline = f"{lines[-1]} {{ {texts[0][0]} {texts[0][1]} }}" if texts else f"{lines[-1]} {{}}"
            if _fits(inline):
                lines[-1] = inline
                return
        items = [
            _Item(_start(e.path_span), _end(e.expr_span), functools.partial(_entry_lines, k, x), width=len(k))
            for e, (k, x) in zip(entries, texts, strict=True)
        ]
        lines[-1:] = self.sub_block(lines[-1] + " {", items, lbrace, close, "}")

    def branch(self, decl: ast.BranchDecl) -> _Item:
        lbrace = self.index.first_after(_end(decl.name_span), "LBRACE")
        assert lbrace is not None
        close = (decl.span.end_line, decl.span.end_col - 1)

        def render(_w: int) -> list[str]:
            lines = [c.text.rstrip() for c in self.take(_start(decl.span), lbrace.pos)]
            items = [self.arm(a) for a in decl.arms]
            return lines + self.sub_block(f"branch {decl.name} {{", items, lbrace, close, "}")

        return _Item(_start(decl.span), _end(decl.span), render, inner=(_start(decl.span), close))

    def arm(self, arm: ast.Arm) -> _Item:
        anchor = arm.condition_span or arm.target_span
        keyword = self.index.last_before(_start(anchor), "WHEN", "ELSE")
        assert keyword is not None
        left = "else" if arm.condition is None else f"when {arm.condition}"
        return _Item(keyword.pos, _end(arm.target_span), lambda w: [f"{left.ljust(w)} -> {arm.target}"], len(left))

    def sub_block(self, opener: str, items: list[_Item], open_tok: Tok, close: Pos, closer: str) -> list[str]:
        """A bracketed block inside a statement, returned as lines relative to the statement."""
        saved, self.out = self.out, []
        try:
            self.out.append(opener + self.trailing(open_tok.end, items[0].start if items else close))
            self.block(items, BLOCK, open_tok.end, close)
            self.out.append(closer)
            return self.out
        finally:
            self.out = saved

    def _has_comments(self, lo: Pos, hi: Pos) -> bool:
        return any(not self.used[i] and lo <= c.pos < hi for i, c in enumerate(self.comments))


def _fits(line: str) -> bool:
    """Whether a statement's first line fits (later lines of a long string are the author's)."""
    return len(" " * BODY + line.split("\n", 1)[0]) <= WIDTH


def _comma(lines: list[str]) -> list[str]:
    return [*lines[:-1], lines[-1] + ","]


def _option_end(opt: ast.Option) -> Pos:
    value_end = _end(opt.value.span)
    return max(value_end, _end(opt.key_span))


def _run_widths(items: list[_Item], blank_between: Callable[[int, int], bool]) -> list[int]:
    """The alignment width of each item: the widest of its run of aligned neighbours."""
    widths = [0] * len(items)
    run: list[int] = []

    def close_run() -> None:
        wide = max((items[j].width or 0) for j in run) if run else 0
        for j in run:
            widths[j] = wide
        run.clear()

    for i, item in enumerate(items):
        if item.width is None or item.width > ALIGN_LIMIT:
            close_run()
            widths[i] = item.width or 0
            continue
        if run and blank_between(items[run[-1]].end[0], item.start[0]):
            close_run()
        run.append(i)
    close_run()
    return widths


def _entry_lines(key: str, expr: str, width: int) -> list[str]:
    """A mapping entry, its key padded to the run's alignment width."""
    return [f"{key.ljust(width)} {expr}"]
