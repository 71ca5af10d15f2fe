"""`flowengine lsp`: the language server for editors, over stdio.

pygls is imported only when the command runs, so other commands start without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flowengine.lint.linter import LintUsageError, options_from


def lsp(
    env_file: Annotated[
        Path | None, typer.Option(help="Check ${ENV} references against this KEY=value file, not the environment")
    ] = None,
    ignore: Annotated[list[str] | None, typer.Option(help="Do not report these codes or prefixes (repeatable)")] = None,
) -> None:
    """Serve the Language Server Protocol on stdin/stdout: lint diagnostics as you type, formatting.

    Point an editor's LSP client at `flowengine lsp` for *.flow files (see docs/editors.md).
    """
    try:
        options = options_from([], ignore or [], env_file)
    except LintUsageError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from None
    from flowengine.lint.lsp import create_server

    create_server(options).start_io()
