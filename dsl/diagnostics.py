"""Diagnostics: the one error type of the language and of every later check.

Syntax errors, compile errors and lint findings are all `Diagnostic`s, so they
print the same way (`file:line:col: CODE message`, the source line, a caret)
and serialise to the same JSON that CI and the REST API consume.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dsl.ast import Span


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    span: Span
    severity: Severity = Severity.ERROR
    hint: str | None = None

    @property
    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.span.file, self.span.line, self.span.col, self.code)

    def headline(self) -> str:
        """`file:line:col: CODE message`, the line editors and CI parse."""
        s = self.span
        return f"{s.file}:{s.line}:{s.col}: {self.code} {self.message}"

    def render(self, source: str | None) -> str:
        """The headline, then the offending source line with a caret under it."""
        out = [self.headline()]
        line_text = source_line(source, self.span.line) if source is not None else None
        if line_text is not None:
            width = _caret_width(self.span, line_text)
            out.append(f"    {line_text}")
            out.append("    " + " " * (self.span.col - 1) + "^" + "~" * (width - 1))
        if self.hint:
            out.append(f"    hint: {self.hint}")
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "file": self.span.file,
            "line": self.span.line,
            "col": self.span.col,
            "end_line": self.span.end_line,
            "end_col": self.span.end_col,
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
        }
        if self.hint:
            d["hint"] = self.hint
        return d


def source_line(source: str, line: int) -> str | None:
    """Line `line` counted as the parser counts, by LF alone (`splitlines` would also
    break at form feeds and U+2028, and show the wrong line under a diagnostic)."""
    lines = source.split("\n") if source else []
    if 1 <= line <= len(lines):
        return lines[line - 1].expandtabs(1)
    return None


def _caret_width(span: Span, line_text: str) -> int:
    if span.end_line != span.line:
        return max(1, len(line_text) - span.col + 1)
    return max(1, min(span.end_col, len(line_text) + 1) - span.col)


def has_errors(diagnostics: list[Diagnostic]) -> bool:
    return any(d.severity is Severity.ERROR for d in diagnostics)
