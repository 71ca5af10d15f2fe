"""The CLI options that bound what a flow may reach: `--files-root`, `--tls-dir`, `--http-allow`.

`run`, `lint`, `test`, `graph` and `serve` share them (docs/cli.md, docs/security.md).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from flowengine.compile.files import tls_dirs_from_env
from flowengine.compile.netallow import DEFAULT_OWN, HttpPolicy
from flowengine.compile.reach import Reach

FilesRoot = Annotated[
    Path | None,
    typer.Option(
        "--files-root",
        help="Folder a flow's file options (schemas, templates, stylesheets) are read from; "
        "default: the flow's folder, or the working directory when the flow lies inside it",
    ),
]
TlsDirs = Annotated[
    list[Path] | None,
    typer.Option(
        "--tls-dir",
        help="Folder TLS files (certificates, keys, CAs) may come from; repeatable "
        "(FLOWENGINE_TLS_DIRS, an os.pathsep list); default: the flow's folder",
    ),
]
HttpAllow = Annotated[
    list[str] | None,
    typer.Option(
        "--http-allow",
        help="Host, host:port or URL prefix http.request may call with a URL built from message data; "
        "repeatable (FLOWENGINE_HTTP_ALLOW, comma separated)",
    ),
]


def cli_reach(
    files_root: Path | None,
    tls_dirs: list[Path] | None,
    http_allow: list[str] | None,
    own: tuple[tuple[str, int], ...] = DEFAULT_OWN,
) -> Reach:
    """The reach of a CLI run; a bad `--http-allow` entry is a usage error (exit 2)."""
    try:
        http = HttpPolicy.configured(http_allow or (), os.environ, own, strict=False)
    except ValueError as err:
        typer.echo(f"error: --http-allow: {err}", err=True)
        raise typer.Exit(2) from None
    dirs = tls_dirs_from_env(os.environ, tls_dirs or ())
    return Reach(files_root, tuple(dirs) if dirs is not None else None, http=http)
