"""How a flow test run reads: pytest-like text for people, JUnit XML for CI systems."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from flowengine.flowtest.runner import CaseResult, RunResult

WIDTH = 80


def _rule(title: str, char: str = "=") -> str:
    side = max(3, (WIDTH - len(title) - 2) // 2)
    return f"{char * side} {title} {char * side}"


def text_report(run: RunResult, seconds: float, *, coverage: bool = True) -> str:
    out = [f"{c.id} {'PASSED' if c.passed else 'FAILED'}" for c in run.cases]
    if run.failed:
        out += ["", _rule("FAILURES")]
        for case in run.failed:
            out += _failure(case)
    if coverage and run.coverage.flows:
        out += ["", _rule("edge coverage", "-")]
        for cov in sorted(run.coverage.flows.values(), key=lambda c: (c.path, c.flow)):
            out.append(cov.summary())
            out += [f"    untested: {e.describe()}  ({cov.path}:{e.line})" for e in cov.untested]
    if run.untested_flows:
        out += ["", "flows without a test file: " + ", ".join(run.untested_flows)]
    passed = len(run.cases) - len(run.failed)
    counts = ", ".join(p for p in (f"{len(run.failed)} failed" if run.failed else "", f"{passed} passed") if p)
    out += ["", _rule(f"{counts} in {seconds:.2f}s")]
    return "\n".join(out) + "\n"


def _failure(case: CaseResult) -> list[str]:
    out = [_rule(case.id, "_"), f"{case.file}:{case.line}: {case.name}"]
    for problem in case.problems:
        out += ["  " + problem[0], *("  " + line for line in problem[1:])]
    if case.logs:
        out += ["  captured log:", *("    " + line for line in case.logs)]
    return out


def junit_xml(run: RunResult, seconds: float) -> str:
    """JUnit XML: one <testsuite> per test file, one <testcase> per case."""
    suites = ET.Element(
        "testsuites", name="flowengine test", tests=str(len(run.cases)), failures=str(len(run.failed))
    )
    suites.set("time", f"{seconds:.3f}")
    by_file: dict[str, list[CaseResult]] = {}
    for case in run.cases:
        by_file.setdefault(case.file, []).append(case)
    for file, cases in by_file.items():
        failed = [c for c in cases if not c.passed]
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=file,
            tests=str(len(cases)),
            failures=str(len(failed)),
            errors="0",
            skipped="0",
            time=f"{sum(c.seconds for c in cases):.3f}",
        )
        for case in cases:
            el = ET.SubElement(
                suite,
                "testcase",
                classname=Path(file).name.split(".")[0],
                name=case.name,
                file=file,
                line=str(case.line),
                time=f"{case.seconds:.3f}",
            )
            if not case.passed:
                failure = ET.SubElement(el, "failure", message=case.problems[0][0], type="FlowTestFailure")
                failure.text = "\n".join(_failure(case)[1:])
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
