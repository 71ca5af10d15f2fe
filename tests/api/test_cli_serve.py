"""`flowengine serve` as a process (the installed command, stopped with SIGTERM), and the client
commands `deploy`, `flows`, `undeploy` against it: once through the installed command, otherwise
in-process through Typer's runner, which runs the same code without a second interpreter start."""

from __future__ import annotations

import os
import ssl
import subprocess

import httpx
from click.testing import Result
from typer.testing import CliRunner

from flowengine.cli.main import app
from tests.api.conftest import FLOWENGINE, REPO, TOKENS, serve_process, write_tokens

HELLO_FILE, ORDERS_FILE = str(REPO / "flows/hello.flow"), str(REPO / "flows/orders.flow")


def installed(*args: str, token: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLOWENGINE_TOKEN": token}
    return subprocess.run([FLOWENGINE, *args], cwd=REPO, capture_output=True, text=True, timeout=60, env=env)


def cli(*args: str, token: str | None = None) -> Result:
    env = {"FLOWENGINE_TOKEN": token} if token else {"FLOWENGINE_TOKEN": None}
    return CliRunner().invoke(app, list(args), env=env)  # type: ignore[arg-type]


def test_serve_deploy_list_undeploy_restart_and_sigterm(tmp_path):
    tokens = str(write_tokens(tmp_path))
    broken = tmp_path / "broken.flow"
    broken.write_text(
        'flow broken {\n  source in = http.listen(path: "/b")\n  sink out = memory.ot()\n  in -> out\n}\n'
    )
    with serve_process(tmp_path, "--tokens", tokens) as (proc, url):
        deployer, admin = TOKENS["deployer"], TOKENS["admin"]
        first = installed("deploy", "flows/hello.flow", "--server", url, token=deployer)
        assert (first.returncode, first.stdout) == (0, "hello v1: deployed (started)\n"), first.stderr
        assert httpx.post(f"{url}/hello", json={"name": "CI"}).text == "Hello, CI!\n"
        assert cli("deploy", HELLO_FILE, "--server", url, token=deployer).stdout == "hello v1: unchanged\n"
        dry = cli("deploy", ORDERS_FILE, "--dry-run", "--server", url, token=deployer)
        assert dry.stdout == "orders v1: valid (dry run, nothing started)\n"

        refused = cli("deploy", str(broken), "--server", url, token=deployer)
        assert refused.exit_code == 1 and refused.stdout == ""
        assert refused.stderr == (
            f"{broken}:3:14: E101 unknown node kind 'memory.ot'; did you mean 'memory.out'?\n"
            "      sink out = memory.ot()\n"
            "                 ^~~~~~~~~\n"
        )
        anonymous = cli("deploy", HELLO_FILE, "--server", url)
        assert anonymous.exit_code == 1
        assert anonymous.stderr == "error: a bearer token is required (set FLOWENGINE_TOKEN) (HTTP 401)\n"

        listed = cli("flows", "--server", url, token=TOKENS["viewer"])
        header, row = listed.stdout.splitlines()
        assert header.split() == ["NAME", "VERSION", "STATUS", "IN-FLIGHT", "UPDATED"]
        assert row.split()[:4] == ["hello", "1", "started", "0"]

        forbidden = cli("undeploy", "hello", "--server", url, token=deployer)
        assert forbidden.exit_code == 1
        assert forbidden.stderr == "error: role 'deployer' may not do this; it needs 'admin' or above (HTTP 403)\n"
        assert cli("deploy", ORDERS_FILE, "--server", url, token=deployer).exit_code == 0
        assert cli("undeploy", "orders", "--server", url, token=admin).stdout == "orders: undeployed\n"
        proc.terminate()  # SIGTERM: drain, stop, exit 0
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0, out
        assert "flow hello stopped" in out and "Traceback" not in out

    with serve_process(tmp_path, "--tokens", tokens) as (_, url):  # same state file: hello is back
        assert httpx.post(f"{url}/hello", json={"name": "again"}).text == "Hello, again!\n"
        assert [
            f["name"]
            for f in httpx.get(f"{url}/api/flows", headers={"authorization": f"Bearer {admin}"}).json()["flows"]
        ] == ["hello"]


def test_serve_over_tls(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    args = ("--tokens", str(write_tokens(tmp_path)), "--certfile", str(cert), "--keyfile", str(key))
    with serve_process(tmp_path, *args, scheme="https") as (_, url):
        assert httpx.get(f"{url}/healthz", verify=ssl.create_default_context(cafile=str(cert))).json() == {
            "status": "ok"
        }
        listed = cli("flows", "--server", url, "--cacert", str(cert), "--format", "json", token=TOKENS["viewer"])
        assert (listed.exit_code, listed.stdout) == (0, "[]\n"), listed.stderr
        untrusted = cli("flows", "--server", url, token=TOKENS["viewer"])
        assert untrusted.exit_code == 1 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr


def test_serve_usage_errors(tmp_path):
    half = cli("serve", "--certfile", str(tmp_path / "c.pem"))
    assert (half.exit_code, half.stderr) == (2, "error: --certfile and --keyfile go together\n")
    bad = tmp_path / "tokens.json"
    bad.write_text('{"t": "root"}')
    refused = cli("serve", "--tokens", str(bad))
    assert (refused.exit_code, refused.stderr) == (
        2,
        f"error: {bad}: role 'root' is not one of viewer, deployer, admin\n",
    )
    many = tmp_path / "two.flow"
    many.write_text((REPO / "flows/hello.flow").read_text() + "flow other {\n}\n")
    two = cli("deploy", str(many), "--server", "http://127.0.0.1:9")
    assert (two.exit_code, two.stderr) == (
        2,
        f"error: {many} declares 2 flows (hello, other); deploy one flow per file\n",
    )
    unreachable = cli("deploy", HELLO_FILE, "--server", "http://127.0.0.1:9")
    assert unreachable.exit_code == 1 and unreachable.stderr.startswith("error: cannot reach http://127.0.0.1:9")


def test_tls_and_connection_limit_reach_uvicorn(tmp_path):
    from fastapi import FastAPI

    from flowengine.api import ServeOptions
    from flowengine.api.server import uvicorn_config

    options = ServeOptions(certfile=tmp_path / "c.pem", keyfile=tmp_path / "k.pem", limit_concurrency=7)
    config = uvicorn_config(FastAPI(), options)
    assert (config.ssl_certfile, config.ssl_keyfile, config.limit_concurrency) == (
        str(tmp_path / "c.pem"),
        str(tmp_path / "k.pem"),
        7,
    )
