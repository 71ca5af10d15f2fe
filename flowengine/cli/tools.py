"""The CI-facing commands `flowengine test` and `flowengine fmt` (registered in `cli`).

Exit codes follow `lint`: 0 all good, 1 findings (a failing case, a file that
would be reformatted or does not parse), 2 a usage error.
"""

from __future__ import annotations

import asyncio
import difflib
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from flowengine.cli.reach_options import FilesRoot, HttpAllow, TlsDirs, cli_reach
from flowengine.compile.compiler import find_flow_files

_HERE = [Path(".")]


def _usage_error(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _existing(paths: list[Path]) -> list[Path]:
    missing = [str(p) for p in paths if str(p) != "-" and not p.exists()]
    if missing:
        raise _usage_error(f"no such file or directory: {', '.join(missing)}")
    return paths


def test(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Test files, flow files or directories (default: .)")
    ] = None,
    junit: Annotated[Path | None, typer.Option("--junit-xml", help="Also write a JUnit XML report here")] = None,
    coverage: Annotated[bool, typer.Option(help="Report edge coverage per flow")] = True,
    min_coverage: Annotated[
        float | None, typer.Option(min=0, max=100, help="Fail when a flow's edge coverage is below this percent")
    ] = None,
    files_root: FilesRoot = None,
    tls_dir: TlsDirs = None,
    http_allow: HttpAllow = None,
) -> None:
    """Run flow tests (*.test.yaml): messages in, expectations at nodes, connectors as doubles."""
    from flowengine.flowtest import junit_xml, run_paths, text_report

    started = time.perf_counter()
    run = asyncio.run(run_paths(_existing(paths or _HERE), cli_reach(files_root, tls_dir, http_allow)))
    seconds = time.perf_counter() - started
    if not run.cases:
        typer.echo(f"no flow tests (*.test.yaml) found under: {', '.join(map(str, paths or _HERE))}", err=True)
        raise typer.Exit(1)
    sys.stdout.write(text_report(run, seconds, coverage=coverage))
    if junit is not None:
        junit.write_text(junit_xml(run, seconds), encoding="utf-8")
    low = [c for c in run.coverage.flows.values() if min_coverage is not None and c.percent < min_coverage]
    for c in low:
        typer.echo(f"edge coverage of {c.flow} is {c.percent:.0f}%, under --min-coverage {min_coverage:g}", err=True)
    raise typer.Exit(1 if run.failed or low else 0)


def fmt(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Flow files or directories (default: .); - reads standard input")
    ] = None,
    check: Annotated[bool, typer.Option("--check", help="Change nothing; exit 1 if a file would change")] = False,
    diff: Annotated[bool, typer.Option("--diff", help="Change nothing; print what would change")] = False,
) -> None:
    """Rewrite flow files in the canonical layout (comments kept)."""
    from dsl import source
    from dsl.formatter import FormatError, format_text

    targets = _existing(paths or _HERE)
    if [str(p) for p in targets] == ["-"]:
        raise typer.Exit(_format_stdin())
    changed = broken = 0
    files = find_flow_files(targets)
    for path in files:
        try:
            text = source.read(path)
            formatted = format_text(text, str(path))
        except source.SourceError as err:
            broken += 1
            sys.stderr.write(err.diagnostic.render(None) + "\n")
            continue
        except FormatError as err:
            broken += 1
            sys.stderr.write("".join(d.render(text) + "\n" for d in err.diagnostics))
            continue
        if formatted == text:
            continue
        changed += 1
        if diff:
            lines = difflib.unified_diff(text.splitlines(True), formatted.splitlines(True), str(path), str(path))
            sys.stdout.write("".join(lines))
        elif check:
            sys.stdout.write(f"would reformat {path}: {changed_lines(text, formatted)}\n")
        else:
            path.write_text(formatted, encoding="utf-8")
            sys.stdout.write(f"reformatted {path}\n")
    verb = "would be reformatted" if check or diff else "reformatted"
    summary = f"{changed} file(s) {verb}, {len(files) - changed - broken} unchanged"
    sys.stderr.write(summary + (f", {broken} not parsed" if broken else "") + "\n")
    if check and changed:
        where = shlex.join(str(p) for p in targets)
        sys.stderr.write(
            f"see the changes with `flowengine fmt --diff {where}`; make them with `flowengine fmt {where}`\n"
        )
    raise typer.Exit(1 if broken or ((check or diff) and changed) else 0)


def changed_lines(before: str, after: str) -> str:
    """The lines of `before` that formatting changes, as "line 3" or "lines 2-4, 9": where to look
    in the editor, since `--check` prints no diff. An insertion counts as the line it comes before."""
    old = before.splitlines()
    ranges: list[list[int]] = []
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, old, after.splitlines(), autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        lo = min(i1 + 1, max(len(old), 1))
        hi = max(i2, lo)
        if ranges and lo <= ranges[-1][1] + 1:
            ranges[-1][1] = max(ranges[-1][1], hi)
        else:
            ranges.append([lo, hi])
    if not ranges:  # only the final newline differs
        ranges = [[max(len(old), 1)] * 2]
    text = ", ".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)
    return ("line " if text.isdigit() else "lines ") + text


def _format_stdin() -> int:
    from dsl import source
    from dsl.formatter import FormatError, format_text

    try:
        text = source.decode(sys.stdin.buffer.read(), "<stdin>")
        sys.stdout.write(format_text(text, "<stdin>"))
    except source.SourceError as err:
        sys.stderr.write(err.diagnostic.render(None) + "\n")
        return 1
    except FormatError as err:
        sys.stderr.write("".join(d.render(text) + "\n" for d in err.diagnostics))
        return 1
    return 0
