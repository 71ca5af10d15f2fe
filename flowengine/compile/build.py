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
from flowengine.compile.files import FileRefused, FileRoot
from flowengine.compile.netallow import HttpPolicy
from flowengine.expressions.compiled import Expression, ExpressionError, Template

FILES_HINT = (
    "name a file inside the flow's files root (--files-root), relative to the flow's folder; "
    "absolute paths, '..' and links leading out of the root are refused"
)


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
    files: FileRoot = field(default_factory=lambda: FileRoot.of(None))
    http: HttpPolicy = field(default_factory=HttpPolicy)
    revision: str = ""
    warnings: list[BuildError] = field(default_factory=list)  # reported, the node still builds

    def span_of(self, option: str) -> ast.Span:
        return self.option_spans.get(option, self.span)

    def fail(
        self, message: str, option: str | None = None, *, code: str = "E103", hint: str | None = None
    ) -> BuildError:
        return BuildError(message, self.span_of(option) if option else self.span, code=code, hint=hint)

    def warn(self, message: str, option: str | None = None, *, code: str, hint: str | None = None) -> None:
        self.warnings.append(self.fail(message, option, code=code, hint=hint))

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
        """The file an option names, through the flow's files root (see `flowengine.compile.files`)."""
        try:
            return self.files.resolve(str(self.options[option]))
        except FileRefused as err:
            raise self.fail(str(err), option, code="E150", hint=FILES_HINT) from None

    def tls_file(self, option: str, key: str) -> Path:
        """A TLS file named by `option.key`, from the server's TLS folders only (E155 otherwise)."""
        name = str(self.options[option][key])
        try:
            return self.files.resolve_tls(name, "TLS file")
        except FileRefused:
            raise self.fail(
                f"TLS file '{name}' ({option}.{key}) is not readable from the server's TLS folders",
                option,
                code="E155",
                hint="the operator lists the folders TLS files may come from with --tls-dir or FLOWENGINE_TLS_DIRS",
            ) from None

    def read_file(self, option: str) -> tuple[Path, bytes]:
        """Resolve and read the file an option names; the same one refusal for any failure."""
        try:
            return self.files.read_bytes(str(self.options[option]))
        except FileRefused as err:
            raise self.fail(str(err), option, code="E150", hint=FILES_HINT) from None
