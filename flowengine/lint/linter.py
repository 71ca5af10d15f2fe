"""`flowengine lint`: compile flow files, run the lint rules, filter, report.

The compiler's own checks (syntax, kinds, options, names, graph shape) run on
every compile; the rules of `flowengine.lint.rules` add what only a linter
should say (nodes that never get a message, constant conditions, plain-text
secrets...). Then:

- with `env_file`, the flows are compiled against that file's variables only,
  and an unset one is E141 naming the file instead of E140;
- `# flowengine: ignore[CODE, ...]` on a line drops those codes (or prefixes)
  reported on that line; `select` / `ignore` keep or drop codes by prefix.

Output formats live in `flowengine.lint.output`. Files are linted in parallel
worker processes when there are many of them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from dsl.diagnostics import Diagnostic, Severity
from dsl.tokens import tokenize
from flowengine.compile.compiler import CompileResult, compile_file, compile_text, find_flow_files
from flowengine.compile.reach import Reach
from flowengine.compile.registry import Registry
from flowengine.lint.envfile import EnvFileError, read_env_file
from flowengine.lint.rules import CHECKS, ENV_FILE, LintContext

CODE_PREFIX = re.compile(r"[EW]\d{0,3}")
_SUPPRESS = re.compile(r"#\s*flowengine:\s*ignore\[([^\]]*)\]")
_UNSET_VAR = re.compile(r"environment variable '([^']+)' is not set")
PARALLEL_FROM = 64  # files; below this a worker pool costs more than it saves


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


@dataclass(frozen=True)
class LintOptions:
    """What to check and report. `env` None means the process environment."""

    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    env: Mapping[str, str] | None = None
    env_file: str | None = None  # where `env` was read from: unset variables become E141
    registry: Registry | None = None
    reach: Reach | None = None  # files root, TLS dirs, HTTP allow-list; None: the CLI's defaults


class LintUsageError(ValueError):
    """A bad --select/--ignore code or --env-file: a usage error (exit 2), not a finding."""


def options_from(select: Iterable[str], ignore: Iterable[str], env_file: Path | None) -> LintOptions:
    """Options from the command line: codes comma-separated or repeated, an env file read."""

    def codes(values: Iterable[str]) -> tuple[str, ...]:
        out = tuple(c.strip().upper() for v in values for c in v.split(",") if c.strip())
        bad = [c for c in out if not CODE_PREFIX.fullmatch(c)]
        if bad:
            raise LintUsageError(f"not a code or code prefix: {', '.join(bad)} (examples: E1, W2, W205)")
        return out

    if env_file is None:
        return LintOptions(codes(select), codes(ignore))
    try:
        env = read_env_file(env_file)
    except (OSError, EnvFileError) as err:
        raise LintUsageError(str(err)) from None
    return LintOptions(codes(select), codes(ignore), env=env, env_file=str(env_file))


def matches(code: str, prefixes: Iterable[str]) -> bool:
    return any(code.startswith(p) for p in prefixes)


def lint_result(result: CompileResult, options: LintOptions) -> list[Diagnostic]:
    """The diagnostics of one compiled file, rules run and filters applied."""
    diagnostics = list(result.diagnostics)
    if result.syntax is not None and len(result.syntax.flows) == len(result.flows):
        for flow, compiled in zip(result.syntax.flows, result.flows, strict=True):
            ctx = LintContext(flow, compiled, result.files)
            for rule in CHECKS:
                diagnostics.extend(rule.run(ctx))
    if options.env_file is not None:
        diagnostics = [_env_file_diagnostic(d, options.env_file) if d.code == "E140" else d for d in diagnostics]
    suppressed = _suppressions(result.text)
    kept = [
        d
        for d in diagnostics
        if not matches(d.code, suppressed.get(d.span.line, ()))
        and (not options.select or matches(d.code, options.select))
        and not matches(d.code, options.ignore)
    ]
    return sorted(kept, key=lambda d: d.sort_key)


def _env_file_diagnostic(d: Diagnostic, env_file: str) -> Diagnostic:
    m = _UNSET_VAR.search(d.message)
    name = m.group(1) if m else "?"
    return replace(
        d,
        code=ENV_FILE.code,
        message=f"environment variable '{name}' is not defined in {env_file}",
        hint=f"add {name}=... to {env_file}, or give a default: ${{{name}:-value}}",
    )


def _suppressions(text: str) -> dict[int, tuple[str, ...]]:
    """Line -> codes named by a `# flowengine: ignore[...]` comment on that line."""
    if "flowengine:" not in text:
        return {}
    index = tokenize(text)
    if index is None:
        return {}
    out: dict[int, tuple[str, ...]] = {}
    for comment in index.comments:
        m = _SUPPRESS.search(comment.text)
        if m:
            out[comment.pos[0]] = tuple(c.strip() for c in m.group(1).split(",") if c.strip())
    return out


def lint_text(
    text: str, path: str = "<string>", *, base_dir: Path | None = None, options: LintOptions | None = None
) -> list[Diagnostic]:
    """Lint flow text that is not (or not yet) a file: editors, the API, tests."""
    options = options or LintOptions()
    env = options.env if options.env is not None else os.environ
    result = compile_text(text, path, env=env, registry=options.registry, base_dir=base_dir, reach=options.reach)
    return lint_result(result, options)


def lint_file(path: Path, options: LintOptions) -> tuple[list[Diagnostic], str]:
    env = options.env if options.env is not None else os.environ
    result = compile_file(path, env=env, registry=options.registry, reach=options.reach)
    return lint_result(result, options), result.text


def lint_paths(
    paths: Iterable[Path], env: Mapping[str, str] | None = None, *, options: LintOptions | None = None
) -> LintReport:
    options = options or LintOptions(env=env)
    files = find_flow_files(paths)
    report = LintReport()
    for path, (diagnostics, text) in zip(files, _lint_all(files, options), strict=True):
        report.files.append(str(path))
        report.sources[str(path)] = text
        report.diagnostics.extend(diagnostics)
    report.diagnostics.sort(key=lambda d: d.sort_key)
    return report


def _lint_all(files: Sequence[Path], options: LintOptions) -> list[tuple[list[Diagnostic], str]]:
    workers = min(os.cpu_count() or 1, 8)
    if len(files) < PARALLEL_FROM or workers < 2 or options.registry is not None:
        return [lint_file(p, options) for p in files]
    portable = replace(options, env=dict(options.env if options.env is not None else os.environ))
    chunk = max(1, len(files) // (workers * 4))
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(lint_file, files, [portable] * len(files), chunksize=chunk))
