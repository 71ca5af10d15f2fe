"""The `flowengine` command: run, lint, graph, docs, and the commands of `_Commands.lazy`.

Exit codes: 0 success, 1 findings or a flow that does not compile, 2 a usage
error (a missing file, an unknown format). A user never sees a traceback for
bad input: every problem is a diagnostic or a one-line message.

Each command imports what only it needs when it runs (the linter, the graph
exports, the server), so that `flowengine run` starts fast (docs/performance.md).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Annotated, ClassVar

import typer

from flowengine.cli.lazy import LazyGroup
from flowengine.cli.reach_options import FilesRoot, HttpAllow, TlsDirs, cli_reach
from flowengine.compile.compiler import CompileResult, compile_file, find_flow_files
from flowengine.compile.reach import Reach
from flowengine.observe.logs import configure
from flowengine.runtime import eventloop


class _Commands(LazyGroup):
    """The commands defined in modules of their own, imported when they run (see `cli/lazy.py`)."""

    lazy: ClassVar[dict[str, str]] = {
        "serve": "flowengine.cli.serve:serve",  # the server and the clients of its management API
        "deploy": "flowengine.cli.serve:deploy",
        "flows": "flowengine.cli.serve:flows",
        "undeploy": "flowengine.cli.serve:undeploy",
        "test": "flowengine.cli.tools:test",  # the CI commands: flow tests and the formatter
        "fmt": "flowengine.cli.tools:fmt",
        "lsp": "flowengine.cli.lsp:lsp",  # the language server for editors
        "dlq": "flowengine.cli.dlq:dlq",  # a group: list, show, replay, purge
    }


app = typer.Typer(
    cls=_Commands, add_completion=False, no_args_is_help=True, help="Flowengine: declarative integration flows."
)


class LintFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    github = "github"


class LogFormat(StrEnum):
    text = "text"
    json = "json"


class GraphFormat(StrEnum):
    dot = "dot"
    mermaid = "mermaid"
    json = "json"
    svg = "svg"
    png = "png"
    html = "html"


def _usage_error(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _existing(paths: list[Path]) -> list[Path]:
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise _usage_error(f"no such file or directory: {', '.join(missing)}")
    return paths


@app.command()
def lint(
    paths: Annotated[list[Path], typer.Argument(help="Flow files or directories (searched for *.flow)")],
    format: Annotated[LintFormat, typer.Option("--format", "-f", help="Output format")] = LintFormat.text,
    select: Annotated[
        list[str] | None, typer.Option(help="Report only these codes or prefixes, e.g. E,W205 (repeatable)")
    ] = None,
    ignore: Annotated[list[str] | None, typer.Option(help="Do not report these codes or prefixes (repeatable)")] = None,
    env_file: Annotated[
        Path | None, typer.Option(help="Check ${ENV} references against this KEY=value file, not the environment")
    ] = None,
    files_root: FilesRoot = None,
    tls_dir: TlsDirs = None,
    http_allow: HttpAllow = None,
) -> None:
    """Check flow files: syntax, kinds, options, names, graph shape, expressions, lint rules.

    Exit 0 when nothing is reported, 1 on any finding (errors or warnings), 2 on a usage error.
    """
    from flowengine.lint.linter import LintUsageError, lint_paths, options_from
    from flowengine.lint.output import FORMATS as LINT_FORMATS

    try:
        options = options_from(select or [], ignore or [], env_file)
    except LintUsageError as err:
        raise _usage_error(str(err)) from None
    options = replace(options, reach=cli_reach(files_root, tls_dir, http_allow))
    report = lint_paths(_existing(paths), options=options)
    sys.stdout.write(LINT_FORMATS[format.value](report))
    raise typer.Exit(1 if report.diagnostics else 0)


def _compile_or_exit(path: Path, reach: Reach) -> CompileResult:
    result = compile_file(path, reach=reach)
    if not result.ok:
        from flowengine.lint.linter import LintReport

        report = LintReport(files=[str(path)], diagnostics=result.diagnostics, sources={str(path): result.text})
        sys.stderr.write(report.to_text())
        raise typer.Exit(1)
    return result


@app.command()
def graph(
    file: Annotated[Path, typer.Argument(help="A flow file")],
    format: Annotated[GraphFormat, typer.Option("--format", "-f")] = GraphFormat.dot,
    flow: Annotated[str | None, typer.Option(help="Which flow, when the file holds several")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of standard output")] = None,
    files_root: FilesRoot = None,
    tls_dir: TlsDirs = None,
) -> None:
    """Print a flow's graph as Graphviz DOT, Mermaid or JSON, or draw it: svg and png (Graphviz),
    html (one self-contained page: nodes coloured by role, conditions on edges, options on hover)."""
    from flowengine.pictures import PICTURES, PictureError, picture
    from flowengine.pictures.export import FORMATS

    result = _compile_or_exit(_existing([file])[0], cli_reach(files_root, tls_dir, None))
    flows = [f for f in result.flows if flow is None or f.name == flow]
    if not flows:
        raise _usage_error(f"no flow named '{flow}' in {file}")
    if format.value not in PICTURES:
        data = "".join(FORMATS[format.value](f) for f in flows).encode()
    elif format is GraphFormat.png and output is None and sys.stdout.isatty():
        raise _usage_error("a PNG is binary; write it with --output FILE or redirect standard output")
    else:
        try:
            data = picture(format.value, flows)
        except PictureError as err:
            raise _usage_error(str(err)) from None
    if output is None:
        sys.stdout.buffer.write(data)
    else:
        output.write_bytes(data)


@app.command()
def run(
    files: Annotated[list[Path], typer.Argument(help="Flow files or directories to run")],
    host: Annotated[str, typer.Option(help="Address of the HTTP server")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the HTTP server")] = 8080,
    log_level: Annotated[str, typer.Option(help="debug (one line per message), info, warning or error")] = "info",
    log_format: Annotated[LogFormat, typer.Option(help="text, or json: one object per line")] = LogFormat.text,
    state: Annotated[
        Path, typer.Option(envvar="FLOWENGINE_STATE", help="SQLite state file (dead letters, dedupe keys, ...)")
    ] = Path(".flowengine/state.db"),
    files_root: FilesRoot = None,
    tls_dir: TlsDirs = None,
    http_allow: HttpAllow = None,
) -> None:
    """Run flows in the foreground, serving their HTTP endpoints in-process."""
    configure(log_level, log_format.value)
    reach = cli_reach(files_root, tls_dir, http_allow, own=((host, port),))
    reach = replace(reach, denied=(state,))
    results = [_compile_or_exit(p, reach) for p in find_flow_files(_existing(files))]
    from flowengine.errors import ConnectorError, StateUnreadable
    from flowengine.observe.otel import check_environment
    from flowengine.runtime.listen import ListenFailed, bind
    from flowengine.runtime.serving import run_flows
    from flowengine.runtime.store import check_state

    try:
        check_environment()
        check_state(state)
        sock = bind(host, port)
    except (ConnectorError, StateUnreadable, ListenFailed) as err:
        raise _usage_error(str(err)) from None
    eventloop.run(run_flows(results, sock, state))


@app.command()
def docs(
    output: Annotated[Path | None, typer.Option(help="Write here instead of standard output")] = None,
) -> None:
    """Print the node reference generated from the installed kinds."""
    from flowengine.compile.registry import default_registry
    from flowengine.docgen import node_reference

    text = node_reference(default_registry())
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


if __name__ == "__main__":  # pragma: no cover
    app()
