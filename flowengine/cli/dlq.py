"""`flowengine dlq list|show|replay|purge FLOW`: work with parked messages in a state file.

These commands open the engine's SQLite state file directly (`--state`, or
FLOWENGINE_STATE), so they work next to `flowengine run` and on a copy of a
server's state. `list` pages (`--limit`, `--after ID`) and says the total;
`replay` compiles the flow file, starts its nodes without its sources, and sends
every parked message (or the `--id` ones) in again at the source it came from,
in batches, with a progress bar when stderr is a terminal.
"""

from __future__ import annotations

import asyncio
import base64
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from flowengine.compile.compiler import compile_file
from flowengine.compile.graph import CompiledFlow
from flowengine.deadletter.replay import ReplayReport, replay
from flowengine.deadletter.store import DeadLetter, DeadLetterStore, Selection
from flowengine.errors import StateUnreadable
from flowengine.runtime.flow import FlowRuntime
from flowengine.runtime.services import Services
from flowengine.runtime.store import Store

DEFAULT_STATE = Path(".flowengine/state.db")
dlq = typer.Typer(help="Dead letters: list, show (explain), replay after a fix, purge.", no_args_is_help=True)

StateOption = Annotated[Path, typer.Option("--state", envvar="FLOWENGINE_STATE", help="The engine's state file")]
IdsOption = Annotated[list[int] | None, typer.Option("--id", help="Only these dead letters (repeatable)")]


class Format(StrEnum):
    text = "text"
    json = "json"


def _store(state: Path) -> DeadLetterStore:
    if not state.exists():
        typer.echo(f"error: no state file at {state}", err=True)
        raise typer.Exit(2)
    try:
        return DeadLetterStore(Store(state))
    except StateUnreadable as err:  # empty, truncated, not SQLite: say so, change nothing
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None


@dlq.command("list")
def list_(
    flow: str,
    state: StateOption = DEFAULT_STATE,
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.text,
    all: Annotated[bool, typer.Option("--all", help="Include replayed ones")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many (one page)")] = 100,
    after: Annotated[int, typer.Option("--after", min=0, help="Only ids above this one (the next page)")] = 0,
) -> None:
    """List a flow's parked messages, a page at a time, saying how many there are in all."""
    store = _store(state)
    status = None if all else "parked"
    letters = store.list(flow, status=status, limit=limit, after=after)
    total = store.total(flow, status)
    more = _next_page(store, flow, status, letters)
    if format is Format.json:
        sys.stdout.write(orjson.dumps([x.envelope() for x in letters], option=orjson.OPT_INDENT_2).decode() + "\n")
        if more:
            typer.echo(f"{len(letters)} of {total} dead letter(s); next page: --after {letters[-1].id}", err=True)
        return
    for x in letters:
        typer.echo(
            f"{x.id:>6}  {x.status:<8}  {x.node:<16}  {x.error_type:<16}  attempts={x.attempts}  {x.error_message}"
        )
    line = f"{len(letters)} of {total} dead letter(s) for flow '{flow}'"
    typer.echo(line + (f"; next page: --after {letters[-1].id}" if more else ""))


def _next_page(store: DeadLetterStore, flow: str, status: str | None, page: list[DeadLetter]) -> bool:
    return bool(page) and bool(store.list(flow, status=status, limit=1, after=page[-1].id))


@dlq.command()
def show(
    flow: str,
    ids: Annotated[list[int], typer.Argument(help="Dead-letter ids")],
    state: StateOption = DEFAULT_STATE,
    format: Annotated[Format, typer.Option("--format", "-f")] = Format.text,
) -> None:
    """Explain dead letters from their envelopes: which node, which error, how many attempts."""
    letters = _store(state).get(flow, ids)
    if format is Format.json:
        sys.stdout.write(orjson.dumps([x.envelope() for x in letters], option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        for x in letters:
            typer.echo(_describe(x))
    if len(letters) != len(set(ids)):
        typer.echo(f"error: not found: {sorted(set(ids) - {x.id for x in letters})}", err=True)
        raise typer.Exit(1)


def _describe(letter: DeadLetter) -> str:
    """The explanation, then what the flow will read on replay: headers, attributes, the body
    (as text when it is UTF-8, base64 only for binary) and the earlier failures."""
    lines = [letter.explain()]
    for title, values in (("headers", letter.headers), ("attributes", letter.attributes)):
        if values:
            lines.append(f"  {title}:")
            lines += [f"    {k}: {v if isinstance(v, str) else orjson.dumps(v).decode()}" for k, v in values.items()]
    for i, earlier in enumerate(letter.history, 1):
        error = earlier["error"]
        lines.append(
            f"  earlier failure {i}: node '{earlier['node']}' (revision {earlier['revision']}) failed with "
            f"{error['type']} after {earlier['attempts']} attempt(s) at {earlier['last_failure']}: {error['message']}"
        )
    text = letter.body_text()
    if text is None:
        encoded = base64.b64encode(letter.body).decode()
        lines += [f"  body ({len(letter.body)} bytes, binary, base64):", f"    {encoded}"]
    else:
        lines += [f"  body ({len(letter.body)} bytes, text):", *("    " + t for t in text.splitlines() or [""])]
    return "\n".join(lines)


@dlq.command("replay")
def replay_(
    flow: str,
    flow_file: Annotated[Path, typer.Option("--flow-file", help="The (fixed) flow file to replay through")],
    state: StateOption = DEFAULT_STATE,
    ids: IdsOption = None,
) -> None:
    """Send every parked message (or the --id ones) back into the flow; exit 1 if any still fails."""
    store = _store(state)
    result = compile_file(flow_file)
    compiled = next((f for f in result.flows if f.name == flow), None)
    if not result.ok or compiled is None:
        for d in result.diagnostics:
            typer.echo(d.render(result.text), err=True)
        typer.echo(f"error: flow '{flow}' not found or not valid in {flow_file}", err=True)
        raise typer.Exit(1)
    selection = store.select(flow, ids or None)
    if ids and selection.total < len(set(ids)):
        typer.echo(f"note: {len(set(ids)) - selection.total} of the given ids are not parked dead letters", err=True)
    with _progress(selection.total) as advance:
        report = asyncio.run(_replay(compiled, state, store, selection, advance))
    typer.echo(report.summary())
    raise typer.Exit(1 if report.failed or report.missed else 0)


@contextmanager
def _progress(total: int) -> Iterator[Callable[[int], None] | None]:
    """A progress bar on stderr when it is a terminal (nothing otherwise: logs and pipes stay clean)."""
    if not sys.stderr.isatty():
        yield None
        return
    columns = (TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("replay", total=total)
        yield lambda n: bar.advance(task, n)


async def _replay(
    compiled: CompiledFlow,
    state: Path,
    store: DeadLetterStore,
    selection: Selection,
    progress: Callable[[int], None] | None,
) -> ReplayReport:
    services = Services(state)
    runtime = FlowRuntime(compiled, services)
    await runtime.start(sources=False)
    try:
        return await replay(runtime, store, selection, progress)
    finally:
        await runtime.stop()
        services.close()


@dlq.command()
def purge(
    flow: str,
    state: StateOption = DEFAULT_STATE,
    ids: IdsOption = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask")] = False,
) -> None:
    """Delete dead letters (all of the flow's, or --id ones)."""
    store = _store(state)
    if not yes and not typer.confirm(f"delete {'the given' if ids else 'all'} dead letters of flow '{flow}'?"):
        raise typer.Exit(1)
    typer.echo(f"{store.purge(flow, ids)} dead letter(s) deleted")
