"""`flowengine dlq list|show|replay|purge FLOW`: work with parked messages in a state file.

These commands open the engine's SQLite state file directly (`--state`, or
FLOWENGINE_STATE), so they work next to `flowengine run` and on a copy of a
server's state. `replay` compiles the flow file, starts its nodes without its
sources, and sends each parked message in again at the source it came from.
"""

from __future__ import annotations

import asyncio
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import orjson
import typer

from flowengine.compiler import compile_file
from flowengine.deadletter.replay import ReplayReport, replay
from flowengine.deadletter.store import DeadLetter, DeadLetterStore
from flowengine.errors import StateUnreadable
from flowengine.graph import CompiledFlow
from flowengine.runtime import FlowRuntime
from flowengine.services import Services
from flowengine.store import Store

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
) -> None:
    """List a flow's parked messages."""
    letters = _store(state).list(flow, status=None if all else "parked")
    if format is Format.json:
        sys.stdout.write(orjson.dumps([x.envelope() for x in letters], option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    for x in letters:
        typer.echo(
            f"{x.id:>6}  {x.status:<8}  {x.node:<16}  {x.error_type:<16}  attempts={x.attempts}  {x.error_message}"
        )
    typer.echo(f"{len(letters)} dead letter(s) for flow '{flow}'")


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
            typer.echo(x.explain())
    if len(letters) != len(set(ids)):
        typer.echo(f"error: not found: {sorted(set(ids) - {x.id for x in letters})}", err=True)
        raise typer.Exit(1)


@dlq.command("replay")
def replay_(
    flow: str,
    flow_file: Annotated[Path, typer.Option("--flow-file", help="The (fixed) flow file to replay through")],
    state: StateOption = DEFAULT_STATE,
    ids: IdsOption = None,
) -> None:
    """Send parked messages back into the flow; exit 1 if any still fails."""
    store = _store(state)
    result = compile_file(flow_file)
    compiled = next((f for f in result.flows if f.name == flow), None)
    if not result.ok or compiled is None:
        for d in result.diagnostics:
            typer.echo(d.render(result.text), err=True)
        typer.echo(f"error: flow '{flow}' not found or not valid in {flow_file}", err=True)
        raise typer.Exit(1)
    letters = store.get(flow, ids) if ids else store.list(flow)
    report = asyncio.run(_replay(compiled, state, store, letters))
    typer.echo(report.summary())
    raise typer.Exit(1 if report.failed else 0)


async def _replay(
    compiled: CompiledFlow, state: Path, store: DeadLetterStore, letters: list[DeadLetter]
) -> ReplayReport:
    services = Services(state)
    runtime = FlowRuntime(compiled, services)
    await runtime.start(sources=False)
    try:
        return await replay(runtime, store, letters)
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
