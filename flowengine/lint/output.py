"""How a lint report is printed: `text` for people, `json`, `sarif` and `github` for machines.

- `text`: each diagnostic with its source line and a caret, then a summary.
- `json`: the document of schemas/lint-report (files, counts, diagnostics).
- `sarif`: SARIF 2.1.0, which GitHub code scanning shows on pull requests
  (upload it with github/codeql-action/upload-sarif). Every documented code is
  listed as a rule with its summary; locations are relative to the working
  directory, with `%SRCROOT%` as their base.
- `github`: one workflow command per finding (`::error file=...,line=...::...`),
  which GitHub Actions turns into annotations on the changed lines.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path, PurePath
from typing import Any

import orjson

from dsl.diagnostics import Diagnostic, Severity
from flowengine.lint.linter import LintReport
from flowengine.lint.rules import ALL

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def text(report: LintReport) -> str:
    return report.to_text()


def json_document(report: LintReport) -> str:
    return orjson.dumps(report.to_json(), option=orjson.OPT_INDENT_2).decode() + "\n"


def _uri(file: str) -> str:
    """A file as a SARIF/GitHub path: relative to the working directory when inside it."""
    path = Path(file)
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            return path.as_uri()
    return PurePath(os.path.normpath(path)).as_posix()


def sarif(report: LintReport) -> str:
    documented = {r.code: r for r in ALL}
    codes = sorted({*documented, *(d.code for d in report.diagnostics)}, key=lambda c: (c[1:], c))
    index = {code: i for i, code in enumerate(codes)}
    rules = []
    for code in codes:
        rule = documented.get(code)
        summary = rule.summary if rule else "reported by an installed node kind"
        level = "warning" if code.startswith("W") else "error"
        rules.append(
            {
                "id": code,
                "name": code,
                "shortDescription": {"text": summary},
                "help": {"text": f"{code}: {summary}. See docs/diagnostics.md."},
                "defaultConfiguration": {"level": level},
            }
        )
    results = [_sarif_result(d, index[d.code]) for d in report.diagnostics]
    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "flowengine lint", "rules": rules}},
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
                "results": results,
            }
        ],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n"


def _sarif_result(d: Diagnostic, rule_index: int) -> dict[str, Any]:
    s = d.span
    message = d.message + (f" (hint: {d.hint})" if d.hint else "")
    end = (s.end_line, s.end_col) if (s.end_line, s.end_col) > (s.line, s.col) else (s.line, s.col + 1)
    return {
        "ruleId": d.code,
        "ruleIndex": rule_index,
        "level": "error" if d.severity is Severity.ERROR else "warning",
        "message": {"text": message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(s.file), "uriBaseId": "%SRCROOT%"},
                    "region": {
                        "startLine": s.line,
                        "startColumn": s.col,
                        "endLine": end[0],
                        "endColumn": end[1],
                    },
                }
            }
        ],
    }


def _escape_data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


def github(report: LintReport) -> str:
    lines = []
    for d in report.diagnostics:
        s = d.span
        props = {
            "file": _uri(s.file),
            "line": s.line,
            "col": s.col,
            "endLine": s.end_line,
            "endColumn": s.end_col,
            "title": f"flowengine {d.code}",
        }
        where = ",".join(f"{k}={_escape_property(str(v))}" for k, v in props.items())
        message = f"{d.code} {d.message}" + (f" (hint: {d.hint})" if d.hint else "")
        lines.append(f"::{d.severity.value} {where}::{_escape_data(message)}\n")
    summary = f"{len(report.files)} file(s) checked: {report.error_count} error(s), {report.warning_count} warning(s)"
    return "".join(lines) + summary + "\n"


FORMATS: dict[str, Callable[[LintReport], str]] = {
    "text": text,
    "json": json_document,
    "sarif": sarif,
    "github": github,
}
