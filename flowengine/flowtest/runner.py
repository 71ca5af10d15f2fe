"""Find flow test files and run their cases against in-memory flows.

Each case gets a fresh compile of its flow (so no node state leaks between
cases), doubles and probes installed (`doubles`), and a runtime started with
its sources idle. The messages of `send` go in one after another, each waited
for until every path finished; the flow keeps running for the case's `wait`
(what nodes emit on a timer); then the case is judged (`verdict`). Log records
of the case are kept and shown if it fails, as pytest shows captured logs.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flowengine.compile.compiler import compile_file
from flowengine.compile.graph import CompiledFlow
from flowengine.compile.reach import Reach
from flowengine.core.message import Message
from flowengine.core.nodes import Branch, Source
from flowengine.flowtest.coverage import Coverage
from flowengine.flowtest.doubles import Recorder, install
from flowengine.flowtest.loader import TEST_SUFFIXES, Case, TestFile, TestFileError, is_test_file, load
from flowengine.flowtest.verdict import Problem, Sent, judge
from flowengine.runtime.flow import FlowRuntime
from flowengine.runtime.services import Services

MESSAGE_TIMEOUT = 10.0
_SKIP_DIRS = {"node_modules", "__pycache__"}


@dataclass
class CaseResult:
    file: str
    name: str
    line: int
    problems: list[Problem] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def id(self) -> str:
        return f"{self.file}::{self.name}"


@dataclass
class RunResult:
    cases: list[CaseResult] = field(default_factory=list)
    coverage: Coverage = field(default_factory=Coverage)
    untested_flows: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[CaseResult]:
        return [c for c in self.cases if not c.passed]


def discover(paths: Iterable[Path]) -> tuple[list[Path], list[Path]]:
    """Test files under `paths` (a `.flow` path means its test files), and the flows without one."""
    tests: list[Path] = []
    flows: list[Path] = []
    for p in paths:
        files = [p] if p.is_file() else _walk(p)
        for f in files:
            if is_test_file(f):
                tests.append(f)
            elif f.suffix == ".flow":
                flows.append(f)
                if p.is_file():
                    tests.extend(t for t in (f.with_name(f.stem + s) for s in TEST_SUFFIXES) if t.is_file())
    tests = list(dict.fromkeys(tests))
    tested = {_resolve_flow(t) for t in tests}
    return tests, [f for f in dict.fromkeys(flows) if f.resolve() not in tested]


def _walk(root: Path) -> list[Path]:
    """Files under `root`, skipping hidden directories (.git, .venv) and caches."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in _SKIP_DIRS)
        found.extend(Path(dirpath) / f for f in sorted(filenames))
    return found


def _resolve_flow(test: Path) -> Path | None:
    try:
        return load(test).flow_path.resolve()
    except TestFileError:
        return None


async def run_paths(paths: Iterable[Path], reach: Reach | None = None) -> RunResult:
    tests, untested = discover(list(paths))
    run = RunResult(untested_flows=[str(f) for f in untested])
    for path in tests:
        run.cases.extend(await run_file(path, run.coverage, reach))
    return run


async def run_file(path: Path, coverage: Coverage, reach: Reach | None = None) -> list[CaseResult]:
    try:
        test_file = load(path)
    except TestFileError as err:
        return [CaseResult(str(path), "(loading the test file)", err.line, [[str(err)]])]
    _, problem = _compile(test_file, reach)
    if problem:  # reported once, not once per case
        return [CaseResult(str(path), "(compiling the flow)", 1, [problem])]
    return [await run_case(test_file, case, coverage, reach) for case in test_file.cases]


def _compile(test_file: TestFile, reach: Reach | None) -> tuple[CompiledFlow | None, list[str]]:
    result = compile_file(test_file.flow_path, env=test_file.env, reach=reach)
    if not result.ok:
        lines = [d.render(result.text) for d in result.diagnostics]
        return None, ["the flow does not compile:", *lines]
    flows = [f for f in result.flows if test_file.flow_name in (None, f.name)]
    if len(flows) != 1:
        names = ", ".join(f.name for f in result.flows)
        want = f"no flow named '{test_file.flow_name}'" if test_file.flow_name else "several flows"
        return None, [f"{test_file.flow_path} has {want} ({names}); say which with `name:`"]
    return flows[0], []


def _unknown_nodes(flow: CompiledFlow, case: Case) -> list[str]:
    for name in [*(s.node for s in case.sends), *case.expect, *case.stubs, *(case.errors or {})]:
        if name not in flow.graph:
            close = difflib.get_close_matches(name, list(flow.graph.nodes), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (nodes: {', '.join(flow.graph.nodes)})"
            return [f"flow '{flow.name}' has no node '{name}'{hint}"]
    for name in case.stubs:
        if isinstance(flow.info(name).runtime, Source | Branch):
            return [f"'{name}' cannot be stubbed: it is a {flow.info(name).role.value}, which does no work"]
    return []


async def run_case(test_file: TestFile, case: Case, coverage: Coverage, reach: Reach | None = None) -> CaseResult:
    """Run one case on a fresh compile of its flow (no node state carries over between cases)."""
    result = CaseResult(str(test_file.path), case.name, case.line)
    started = time.perf_counter()
    flow, problem = _compile(test_file, reach)
    problem = problem or (_unknown_nodes(flow, case) if flow else [])
    if flow is None or problem:
        result.problems.append(problem)
        return result
    cov = coverage.track(flow)
    rec = Recorder(flow, cov.mark, {k: list(v) for k, v in case.stubs.items()})
    install(flow, rec)
    with _captured_logs() as logs:
        result.problems.extend(await _drive(flow, case, rec))
    result.logs = logs
    result.seconds = time.perf_counter() - started
    return result


async def _drive(flow: CompiledFlow, case: Case, rec: Recorder) -> list[Problem]:
    services = Services()
    runtime = FlowRuntime(flow, services)
    sent: list[Sent] = []
    try:
        await runtime.start(sources=False)
        try:
            for send in case.sends:
                msg = _message(send.message)
                if isinstance(flow.info(send.node).runtime, Source):
                    rec.passed(send.node, msg)  # what a source hands in goes along its edges
                    work = runtime.inject(send.node, msg)
                else:
                    work = runtime.inject_at(send.node, msg)
                try:
                    sent.append(Sent(send.node, await asyncio.wait_for(work, MESSAGE_TIMEOUT)))
                except TimeoutError:
                    return [[f"the message sent to '{send.node}' did not finish within {MESSAGE_TIMEOUT:.0f}s"]]
            await asyncio.sleep(case.wait)  # timer-driven emissions (aggregate timeouts, delays) happen now
        finally:
            await runtime.stop(drain_timeout=MESSAGE_TIMEOUT)
    finally:
        services.close()
    return judge(case, rec, sent)


def _message(spec: dict[str, Any]) -> Message:
    headers = {str(k): str(v) for k, v in spec.get("headers", {}).items()}
    attributes = dict(spec.get("attributes", {}))
    if "json" in spec:
        ctype = spec.get("content_type")
        return Message(json=spec["json"], content_type=ctype, headers=headers, attributes=attributes, id=spec.get("id"))
    ctype = spec.get("content_type") or "text/plain; charset=utf-8"
    body = str(spec["body"]).encode("utf-8")
    return Message(body, content_type=ctype, headers=headers, attributes=attributes, id=spec.get("id"))


class _LogLines(logging.Handler):
    """Keeps the engine's warnings (failures, error routing) of one case, to show if it fails."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.levelname} {record.name}: {record.getMessage()}")


@contextmanager
def _captured_logs() -> Iterator[list[str]]:
    logger = logging.getLogger("flowengine")
    handler = _LogLines()
    saved = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)
        logger.propagate = saved
