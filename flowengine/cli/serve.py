"""`flowengine serve` and its client commands `deploy`, `flows`, `undeploy`.

The client commands talk to a running server's management API with the token
in FLOWENGINE_TOKEN (never an option: command lines show up in `ps` and CI
logs). Exit codes follow the rest of the CLI: 0 success, 1 the server refused
(invalid flow, no permission, unreachable), 2 a usage error.
"""

from __future__ import annotations

import os
import ssl
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import httpx
import orjson
import typer

from dsl import Diagnostic, Severity, parse, source
from dsl.ast import Span
from flowengine.cli.reach_options import HttpAllow, TlsDirs, cli_reach
from flowengine.observe.logs import configure
from flowengine.runtime import eventloop

TOKEN_ENV = "FLOWENGINE_TOKEN"
ServerUrl = Annotated[
    str, typer.Option("--server", envvar="FLOWENGINE_SERVER", help="URL of the engine (FLOWENGINE_SERVER)")
]
CaCert = Annotated[
    Path | None,
    typer.Option("--cacert", envvar="FLOWENGINE_CACERT", help="CA bundle to trust for an HTTPS server"),
]
DEFAULT_SERVER = "http://127.0.0.1:8080"


class LogFormat(StrEnum):
    text = "text"
    json = "json"


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8080,
    state: Annotated[
        Path, typer.Option(envvar="FLOWENGINE_STATE", help="SQLite file of deployed flows (FLOWENGINE_STATE)")
    ] = Path(".flowengine/state.db"),
    tokens: Annotated[
        Path | None,
        typer.Option(
            envvar="FLOWENGINE_TOKENS_FILE",
            help='JSON {"<token or sha256:hex>": "viewer|deployer|admin"} (FLOWENGINE_TOKENS_FILE)',
        ),
    ] = None,
    certfile: Annotated[Path | None, typer.Option(help="TLS certificate (PEM): serve HTTPS")] = None,
    keyfile: Annotated[Path | None, typer.Option(help="TLS private key (PEM)")] = None,
    max_body_bytes: Annotated[int, typer.Option(min=1, help="Largest request body the API accepts (413)")] = 1_048_576,
    max_source_bytes: Annotated[int, typer.Option(min=1, help="Largest flow source the API accepts (413)")] = 262_144,
    limit_concurrency: Annotated[int, typer.Option(min=1, help="Connections served at once; more get 503")] = 1000,
    drain_timeout: Annotated[float, typer.Option(help="Seconds to wait for in-flight messages on stop")] = 30.0,
    files_root: Annotated[
        Path | None,
        typer.Option(
            "--files-root",
            "--base-dir",
            help="Folder deployed flows' file options (schemas, templates) are read from; "
            "default: 'files' beside --state",
        ),
    ] = None,
    tls_dir: TlsDirs = None,
    http_allow: HttpAllow = None,
    log_level: Annotated[str, typer.Option(help="debug (one line per message), info, warning or error")] = "info",
    log_format: Annotated[LogFormat, typer.Option(help="text, or json: one object per line")] = LogFormat.text,
) -> None:
    """Run the engine with its management API; deployed flows persist in --state."""
    from flowengine.api import ServeOptions, Settings, Tokens, serve
    from flowengine.api.auth import TOKENS_FILE_ENV, TokenConfigError
    from flowengine.compile.reach import Reach
    from flowengine.errors import ConnectorError, StateUnreadable
    from flowengine.observe.otel import check_environment
    from flowengine.runtime.listen import ListenFailed, bind
    from flowengine.runtime.store import check_state

    if (certfile is None) != (keyfile is None):
        raise _fail("--certfile and --keyfile go together", 2)
    missing = [str(p) for p in (certfile, keyfile) if p is not None and not p.is_file()]
    if missing:
        raise _fail(f"no such file: {', '.join(missing)}", 2)
    try:
        table = Tokens.load(tokens)
    except TokenConfigError as err:
        raise _fail(str(err), 2) from None
    try:
        check_environment()
        check_state(state)
        sock = bind(host, port)
    except (ConnectorError, StateUnreadable, ListenFailed) as err:
        raise _fail(str(err), 2) from None
    configure(log_level, log_format.value)
    cli = cli_reach(files_root, tls_dir, http_allow, own=((host, port),))
    tokens_file = tokens or (Path(os.environ[TOKENS_FILE_ENV]) if os.environ.get(TOKENS_FILE_ENV) else None)
    reach = Reach.for_server(
        state,
        files_root=files_root,
        tls_dirs=cli.tls_dirs or (),
        denied=(tokens_file,) if tokens_file else (),
        http=cli.http,
    )
    options = ServeOptions(
        host=host,
        port=port,
        state=state,
        certfile=certfile,
        keyfile=keyfile,
        max_body_bytes=max_body_bytes,
        limit_concurrency=limit_concurrency,
        settings=Settings(max_source_bytes=max_source_bytes, drain_timeout=drain_timeout, reach=reach),
    )
    eventloop.run(serve(options, table, sock))


# --- the client ------------------------------------------------------------------------
def _client(server: str, cacert: Path | None) -> httpx.Client:
    token = os.environ.get(TOKEN_ENV)
    headers = {"authorization": f"Bearer {token}"} if token else {}
    verify = ssl.create_default_context(cafile=str(cacert)) if cacert else True
    return httpx.Client(base_url=server, headers=headers, timeout=120, verify=verify)


def _call(client: httpx.Client, method: str, url: str, **kwargs: Any) -> httpx.Response:
    try:
        return client.request(method, url, **kwargs)
    except httpx.TransportError as err:
        raise _fail(f"cannot reach {client.base_url}: {err}") from None


def _refused(resp: httpx.Response) -> typer.Exit:
    try:
        message = resp.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = resp.text.strip() or resp.reason_phrase
    if resp.status_code == 401 and not os.environ.get(TOKEN_ENV):
        message += f" (set {TOKEN_ENV})"
    return _fail(f"{message} (HTTP {resp.status_code})")


def _diagnostic(d: dict[str, Any]) -> Diagnostic:
    span = Span(d["file"], d["line"], d["col"], d["end_line"], d["end_col"])
    return Diagnostic(d["code"], d["message"], span, Severity(d["severity"]), d.get("hint"))


def _print_diagnostics(items: list[dict[str, Any]], path: Path, text: str) -> None:
    for item in items:
        d = _diagnostic(item)
        sys.stderr.write(d.render(text if d.span.file == str(path) else None) + "\n")


def _flow_name(path: Path, text: str) -> str:
    flow_file, diagnostics = parse(text, str(path))
    if diagnostics:
        _print_diagnostics([d.to_json() for d in diagnostics], path, text)
        raise typer.Exit(1)
    if len(flow_file.flows) != 1:
        names = ", ".join(f.name for f in flow_file.flows)
        raise _fail(f"{path} declares {len(flow_file.flows)} flows ({names}); deploy one flow per file", 2)
    return flow_file.flows[0].name


def deploy(
    paths: Annotated[list[Path], typer.Argument(help="Flow files or directories (searched for *.flow)")],
    server: ServerUrl = DEFAULT_SERVER,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Compile and lint on the server; start nothing")] = False,
    cacert: CaCert = None,
) -> None:
    """Deploy or update flows on a running engine (one flow per file)."""
    from flowengine.compile.compiler import find_flow_files

    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise _fail(f"no such file or directory: {', '.join(missing)}", 2)
    with _client(server, cacert) as client:
        for path in find_flow_files(paths):
            try:
                text = source.read(path)
            except source.SourceError as err:
                sys.stderr.write(err.diagnostic.render(None) + "\n")
                raise typer.Exit(1) from None
            name = _flow_name(path, text)
            resp = _call(
                client,
                "PUT",
                f"/api/flows/{name}",
                params={"dry_run": "true"} if dry_run else None,
                json={"source": text, "file": str(path)},
            )
            if resp.status_code == 422 and "diagnostics" in resp.json():
                _print_diagnostics(resp.json()["diagnostics"], path, text)
                raise typer.Exit(1)
            if resp.status_code not in (200, 201):
                raise _refused(resp)
            _print_diagnostics(resp.json()["diagnostics"], path, text)
            typer.echo(_deployed(resp))


def _deployed(resp: httpx.Response) -> str:
    body = resp.json()
    what = f"{body['name']} v{body['version']}"
    if body["dry_run"]:
        return f"{what}: valid (dry run, nothing started)" if body["changed"] else f"{what}: unchanged (dry run)"
    if not body["changed"]:
        return f"{what}: unchanged"
    return f"{what}: {'deployed' if resp.status_code == 201 else 'updated'} ({body['status']})"


class ListFormat(StrEnum):
    text = "text"
    json = "json"


def flows(
    server: ServerUrl = DEFAULT_SERVER,
    format: Annotated[ListFormat, typer.Option("--format", "-f")] = ListFormat.text,
    cacert: CaCert = None,
) -> None:
    """List the flows deployed on a running engine."""
    with _client(server, cacert) as client:
        resp = _call(client, "GET", "/api/flows")
    if resp.status_code != 200:
        raise _refused(resp)
    items = resp.json()["flows"]
    if format is ListFormat.json:
        sys.stdout.write(orjson.dumps(items, option=orjson.OPT_INDENT_2).decode() + "\n")
        return
    rows = [("NAME", "VERSION", "STATUS", "IN-FLIGHT", "UPDATED")]
    rows += [(f["name"], str(f["version"]), f["status"], str(f["in_flight"]), f["updated_at"]) for f in items]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        typer.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def undeploy(
    name: Annotated[str, typer.Argument(help="The flow's name")],
    server: ServerUrl = DEFAULT_SERVER,
    cacert: CaCert = None,
) -> None:
    """Drain, stop and remove a flow from a running engine (needs an admin token)."""
    with _client(server, cacert) as client:
        resp = _call(client, "DELETE", f"/api/flows/{name}")
    if resp.status_code != 204:
        raise _refused(resp)
    typer.echo(f"{name}: undeployed")
