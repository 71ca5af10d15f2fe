"""Compile flow text sent to the API, and turn failures into the lint report the API returns.

One rule holds for deploys: one request, one flow. The lint endpoint takes any
number. Diagnostics are those of `flowengine lint --format json`, with the values
of the flow's `${ENV}` references masked (see `redact`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dsl.diagnostics import Diagnostic, Severity
from flowengine.api.errors import ApiError
from flowengine.api.redact import Redactor
from flowengine.compile.compiler import CompileResult, compile_text
from flowengine.compile.graph import CompiledFlow
from flowengine.compile.reach import Reach
from flowengine.lint.linter import LintReport

DEFAULT_FILE = "<request>"


@dataclass
class Compiled:
    flow: CompiledFlow
    warnings: list[Diagnostic]
    redact: Redactor


def report_json(
    result: CompileResult, file: str, redact: Redactor, diagnostics: list[Diagnostic] | None = None
) -> dict[str, Any]:
    """The `flowengine lint --format json` document for one compiled text, secrets masked;
    `diagnostics` replaces the compiler's own when the lint rules ran too."""
    found = result.diagnostics if diagnostics is None else diagnostics
    report = LintReport(files=[file], diagnostics=found, sources={file: result.text})
    return {**report.to_json(), "diagnostics": diagnostics_json(found, redact)}


def diagnostics_json(diagnostics: list[Diagnostic], redact: Redactor) -> list[dict[str, Any]]:
    out = []
    for d in diagnostics:
        item = d.to_json()
        item["message"] = redact(item["message"])
        if "hint" in item:
            item["hint"] = redact(item["hint"])
        out.append(item)
    return out


def compile_source(source: str, file: str, reach: Reach) -> tuple[CompileResult, Redactor]:
    """Compile deployed text: its files resolve from the server's files root, never the caller's path."""
    return compile_text(source, file, base_dir=reach.files_root, reach=reach), Redactor(source)


def compile_one(source: str, file: str, reach: Reach) -> Compiled:
    """Compile text that must hold exactly one error-free flow; else 422 with the report."""
    result, redact = compile_source(source, file, reach)
    if not result.ok:
        first = next(d for d in result.diagnostics if d.severity is Severity.ERROR)
        raise ApiError(422, "invalid_flow", redact(first.headline()), extra=report_json(result, file, redact))
    if len(result.flows) != 1:
        names = ", ".join(f.name for f in result.flows)
        raise ApiError(
            422,
            "invalid_flow",
            f"the text declares {len(result.flows)} flows ({names}); deploy one flow per request",
            extra=report_json(result, file, redact),
        )
    warnings = [d for d in result.diagnostics if d.severity is Severity.WARNING]
    return Compiled(result.flows[0], warnings, redact)


def compile_for_view(source: str, file: str, reach: Reach) -> Compiled:
    """Compile a stored revision to show it, even if the environment no longer satisfies it
    (only a text that no longer parses, say after an upgrade of the language, cannot be shown)."""
    result, redact = compile_source(source, file, reach)
    if not result.flows:
        raise ApiError(
            422, "invalid_flow", "the stored revision no longer parses", extra=report_json(result, file, redact)
        )
    warnings = [d for d in result.diagnostics if d.severity is Severity.WARNING]
    return Compiled(result.flows[0], warnings, redact)
