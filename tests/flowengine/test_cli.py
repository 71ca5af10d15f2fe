"""The installed `flowengine` command, run as a user runs it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import REPO, free_port

FLOWENGINE = shutil.which("flowengine", path=str(Path(sys.executable).parent)) or "flowengine"


def run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLOWENGINE, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_lint_of_the_example_flows_is_clean():
    proc = run("lint", "flows/")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.endswith("0 error(s), 0 warning(s)\n")


def test_lint_reports_file_line_col_code_and_caret(tmp_path):
    bad = tmp_path / "bad.flow"
    bad.write_text("flow x {\n  source in = memory.in()\n  sink out = memory.ot()\n  in -> out\n}\n")
    proc = run("lint", str(tmp_path))
    assert proc.returncode == 1
    assert proc.stdout == (
        f"{bad}:3:14: E101 unknown node kind 'memory.ot'; did you mean 'memory.out'?\n"
        "      sink out = memory.ot()\n"
        "                 ^~~~~~~~~\n"
        "1 file(s) checked: 1 error(s), 0 warning(s)\n"
    )
    assert "Traceback" not in proc.stderr


def test_lint_json_format(tmp_path):
    bad = tmp_path / "bad.flow"
    bad.write_text("flow x {\n  source in = memory.in()\n}\n")
    proc = run("lint", "--format", "json", str(bad))
    assert proc.returncode == 1
    report = json.loads(proc.stdout)
    assert report["errors"] == 1
    assert report["diagnostics"] == [
        {
            "file": str(bad),
            "line": 2,
            "col": 3,
            "end_line": 2,
            "end_col": 26,
            "code": "E121",
            "severity": "error",
            "message": "source 'in' has no way out; its messages would go nowhere",
            "hint": "add an edge `in -> <node>`",
        }
    ]


def test_lint_usage_error_exits_2():
    proc = run("lint", "no/such/dir")
    assert proc.returncode == 2
    assert proc.stderr == "error: no such file or directory: no/such/dir\n"


def test_graph_formats():
    dot = run("graph", "flows/orders.flow")
    assert dot.returncode == 0 and dot.stdout.startswith('digraph "orders" {')
    mermaid = run("graph", "flows/orders.flow", "--format", "mermaid")
    assert mermaid.stdout.startswith("flowchart LR")
    data = json.loads(run("graph", "flows/orders.flow", "-f", "json").stdout)
    assert (
        data["flow"] == "orders" and {"from": "norm", "to": "route", "kind": "next", "condition": None} in data["edges"]
    )


def test_graph_of_a_broken_flow_prints_diagnostics(tmp_path):
    bad = tmp_path / "bad.flow"
    bad.write_text("flow x {\n")
    proc = run("graph", str(bad))
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.startswith(f"{bad}:1:9: E001 syntax error: '{{' opened at 1:8 is not closed\n")


def test_run_serves_the_example_flow_and_stops_cleanly_on_sigterm():
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [FLOWENGINE, "run", "flows/orders.flow", "flows/hello.flow", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                resp = httpx.post(f"http://127.0.0.1:{port}/hello", json={"name": "CI"}, timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, "engine did not start"
                time.sleep(0.1)
        assert resp.text == "Hello, CI!\n"
        order = json.loads((REPO / "docs/examples/order.json").read_text())
        assert httpx.post(f"http://127.0.0.1:{port}/orders", json=order, timeout=5).status_code == 201
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert "flow orders stopped" in out and "Traceback" not in out
    assert f"serving on http://127.0.0.1:{port}\n" in out


def test_run_refuses_a_broken_flow(tmp_path):
    bad = tmp_path / "bad.flow"
    bad.write_text('flow x {\n  source in = memory.in(chanel: "a")\n}\n')
    proc = run("run", str(bad))
    assert proc.returncode == 1
    assert "E102 option 'chanel' not recognised by 'memory.in'; did you mean 'channel'?" in proc.stderr


def test_run_that_cannot_reach_its_broker_says_so_without_a_traceback(tmp_path):
    flow = tmp_path / "unreachable.flow"
    port = free_port()  # nothing listens there
    flow.write_text(f'flow x {{\n  source in = amqp.consume(url: "amqp://guest:guest@127.0.0.1:{port}/", '
                    f'queue: "q")\n  sink out = memory.out()\n  in -> out\n}}\n')
    proc = run("run", str(flow), "--port", str(free_port()))
    assert proc.returncode == 1
    assert f"cannot start flow x: cannot connect to amqp://guest:***@127.0.0.1:{port}/" in proc.stderr
    assert "Traceback" not in proc.stderr and "╭" not in proc.stderr


def test_docs_command_matches_the_committed_node_reference():
    proc = run("docs")
    assert proc.returncode == 0
    assert proc.stdout == (REPO / "docs/nodes.md").read_text(), "docs/nodes.md is stale: run `make docs`"


def test_run_and_serve_on_a_port_in_use_say_so_in_one_line_and_exit_2(tmp_path):
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        for command in (["run", "flows/hello.flow"], ["serve"]):
            proc = run(*command, "--port", str(port), "--state", str(tmp_path / "state.db"))
            assert (proc.returncode, proc.stdout) == (2, "")
            assert proc.stderr == (
                f"error: cannot listen on 127.0.0.1:{port}: port {port} is already in use "
                "(stop what holds it, or choose another with --port)\n"
            )


def test_run_serve_and_dlq_refuse_an_empty_state_file_and_leave_it(tmp_path):
    state = tmp_path / "state.db"
    state.touch()
    for command in (["run", "flows/hello.flow", "--port", "0"], ["serve", "--port", "0"], ["dlq", "list", "hello"]):
        proc = run(*command, "--state", str(state))
        assert (proc.returncode, proc.stdout) == (2, "")
        assert proc.stderr == (
            f"error: state file {state} is empty (0 bytes); restore it from a backup, or start with --state "
            "naming a new file (the file was left as it is)\n"
        )
    assert state.stat().st_size == 0 and sorted(p.name for p in tmp_path.iterdir()) == ["state.db"]


def test_lint_reads_files_only_from_the_files_root_and_checks_allow_entries(tmp_path):
    inside = run("lint", "--files-root", str(tmp_path), "flows/orders.flow")
    assert inside.returncode == 1
    assert "E150 file 'schemas/order.schema.json' is not readable from this flow's files root" in inside.stdout
    assert str(tmp_path) not in inside.stdout
    bad = run("lint", "--http-allow", "a b", "flows/hello.flow")
    assert bad.returncode == 2 and "--http-allow: 'a b' is not a host, host:port or URL prefix" in bad.stderr
