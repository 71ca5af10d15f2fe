"""The API docs hold: docs/api.md's curl examples run in order against `flowengine serve` and
answer the status each one states (`# -> 201`), every path of the OpenAPI schema is documented
there, and the CI job of docs/deploy-from-ci.md runs and prints what the page shows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.api.conftest import REPO, TOKENS, serve_process, write_tokens

PAGE = (REPO / "docs/api.md").read_text()
SH = re.compile(r"```sh\n(.*?)```", re.S)
EXAMPLE = re.compile(r"^(?P<command>.*curl .*?)\s+# -> (?P<status>\d{3})$", re.M)


def examples() -> list[tuple[str, int]]:
    found = [(m["command"], int(m["status"])) for block in SH.findall(PAGE) for m in EXAMPLE.finditer(block)]
    assert len(found) >= 25
    return found


def test_every_curl_example_answers_as_documented(tmp_path):
    with serve_process(tmp_path, "--tokens", str(write_tokens(tmp_path)), "--log-level", "warning") as (_, url):
        env = {**os.environ, "FLOWENGINE": url, "TOKEN": TOKENS["admin"]}
        got = []
        for command, _ in examples():
            run = subprocess.run(
                ["bash", "-o", "pipefail", "-c", f"{command} -o /dev/null -w '%{{http_code}}'"],
                cwd=REPO,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            got.append((command, int(run.stdout or 0)))
        assert got == [(command, status) for command, status in examples()]


def test_every_endpoint_of_the_schema_is_documented():
    from flowengine.api import Settings, Tokens, assemble

    schema = assemble(":memory:", Tokens(), Settings()).app.openapi()
    for path, operations in schema["paths"].items():
        for method in operations:
            last = path.rsplit("/", 1)[1]
            # the lifecycle actions share one row: `POST /api/flows/{name}/stop`, `/start`, ...
            assert f"{method.upper()} {path}" in PAGE or f"`/{last}`" in PAGE, (method, path)


def test_the_ci_job_of_deploy_from_ci_runs_as_shown(tmp_path):
    page = (REPO / "docs/deploy-from-ci.md").read_text()
    job = SH.findall(page)[0]
    shown = page[page.index("Its output:") :].split("\n\n")[1]
    with serve_process(tmp_path, "--tokens", str(write_tokens(tmp_path)), "--log-level", "warning") as (_, url):
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "FLOWENGINE_SERVER": url,
            "FLOWENGINE_TOKEN": TOKENS["deployer"],
        }
        run = subprocess.run(["bash", "-c", job], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    out = run.stdout.splitlines()
    expected = [line.strip() for line in shown.splitlines()]
    assert out[:5] == expected[:5]
    assert out[5].startswith('{"ready":true,"flows":[') and expected[5].startswith('{"ready":true,"flows":[')
