"""`flowengine lint`: find flow files, compile them, report diagnostics.

The checks themselves live where they belong (parser, compiler, `rules`); this
module gathers files and formats the result for people (`text`, with source
line and caret) and machines (`json`, the document in schemas/lint-report.schema.json).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dsl.diagnostics import Diagnostic, Severity
from flowengine.compiler import CompileResult, compile_file


@dataclass
class LintReport:
    files: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def error_count(self) -> int:
        return sum(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def warning_count(self) -> int:
        return sum(d.severity is Severity.WARNING for d in self.diagnostics)

    def to_json(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "errors": self.error_count,
            "warnings": self.warning_count,
            "diagnostics": [d.to_json() for d in self.diagnostics],
        }

    def to_text(self) -> str:
        blocks = [d.render(self.sources.get(d.span.file)) for d in self.diagnostics]
        summary = f"{len(self.files)} file(s) checked: {self.error_count} error(s), {self.warning_count} warning(s)"
        return "\n".join([*blocks, summary]) + "\n"


def find_flow_files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(sorted(p.rglob("*.flow")))
        else:
            found.append(p)
    return found


def lint_paths(paths: Iterable[Path], env: Mapping[str, str] | None = None) -> LintReport:
    report = LintReport()
    for path in find_flow_files(paths):
        result: CompileResult = compile_file(path, env=env) if env is not None else compile_file(path)
        report.files.append(str(path))
        report.sources[str(path)] = result.text
        report.diagnostics.extend(result.diagnostics)
    report.diagnostics.sort(key=lambda d: d.sort_key)
    return report
