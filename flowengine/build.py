"""What a kind's `build` function receives, and how it reports a problem.

`BuildContext` hands a kind its resolved options and the helpers that compile
expressions and templates and find files, each turning a failure into a
`BuildError` that points at the option's source span. The compiler turns those
into diagnostics, so a kind never formats positions itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dsl import ast
from flowengine.expressions import Expression, ExpressionError, Template


class BuildError(Exception):
    def __init__(self, message: str, span: ast.Span, *, code: str = "E130", hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.code = code
        self.hint = hint


@dataclass
class BuildContext:
    flow: str
    name: str
    kind: str
    options: dict[str, Any]
    span: ast.Span
    option_spans: dict[str, ast.Span] = field(default_factory=dict)
    mapping: tuple[ast.MapEntry, ...] = ()
    arms: tuple[ast.Arm, ...] = ()
    base_dir: Path | None = None
    revision: str = ""

    def span_of(self, option: str) -> ast.Span:
        return self.option_spans.get(option, self.span)

    def fail(
        self, message: str, option: str | None = None, *, code: str = "E103", hint: str | None = None
    ) -> BuildError:
        return BuildError(message, self.span_of(option) if option else self.span, code=code, hint=hint)

    def expression(self, source: str, span: ast.Span) -> Expression:
        try:
            return Expression(source)
        except ExpressionError as err:
            code = err.code or "E130"
            raise BuildError(f"expression does not compile: {err}", span, code=code, hint=err.hint) from None

    def option_expression(self, option: str) -> Expression:
        return self.expression(self.options[option], self.span_of(option))

    def template(self, source: str, span: ast.Span, *, autoescape: bool = False) -> Template:
        try:
            return Template(source, autoescape=autoescape)
        except ExpressionError as err:
            raise BuildError(
                f"template does not compile: {err}", span, code=err.code or "E131", hint=err.hint
            ) from None

    def option_template(self, option: str, *, autoescape: bool = False) -> Template:
        return self.template(str(self.options[option]), self.span_of(option), autoescape=autoescape)

    def resolve_file(self, option: str) -> Path:
        """Find the file an option names: absolute, or relative to the flow file's
        directory or one of its parents (so `schemas/x.json` works from `flows/`)."""
        raw = Path(self.options[option])
        if raw.is_absolute():
            candidates = [raw]
        else:
            start = (self.base_dir or Path.cwd()).resolve()
            candidates = [d / raw for d in (start, *start.parents)]
        for c in candidates:
            if c.is_file():
                return c
        where = f"{self.base_dir or Path.cwd()} and its parent directories"
        raise self.fail(f"file not found: '{raw}' (looked in {where})", option, code="E150")
