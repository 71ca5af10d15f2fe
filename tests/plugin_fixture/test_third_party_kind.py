"""A connector the engine has never heard of, installed the way a third party's would be.

`site/kafkaish` is ordinary connector code (it imports only `flowengine.plugin`); each test writes
a dist-info whose entry_points.txt names its `register` into a temporary directory and runs the
real CLI in a subprocess with that directory on PYTHONPATH, so `importlib.metadata` finds the
entry point exactly as it finds an installed distribution's. The kinds are then checked by the
linter (E102, and W205 by the `answers_sender` trait), listed by `flowengine docs` and replaced by
a double in a flow test (the `external` trait), while no file of the engine names them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

HERE = Path(__file__).resolve().parent
FLOWS = HERE / "flows"
FLOWENGINE = shutil.which("flowengine", path=str(Path(sys.executable).parent)) or "flowengine"
ENTRY_POINTS = "[flowengine.kinds]\nkafkaish = kafkaish:register\n"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a process in which the `kafkaish` distribution is installed."""
    root = tmp_path_factory.mktemp("dist")
    info = root / "kafkaish-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: kafkaish\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return _env(root, HERE / "site")


def _env(*path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*map(str, path), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def flowengine(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([FLOWENGINE, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def lint(env: dict[str, str], name: str) -> list[tuple[str, int, str]]:
    """(code, line, message) of each finding in flows/`name`."""
    out = flowengine(env, "lint", "--format", "json", str(FLOWS / name)).stdout
    return [(d["code"], d["line"], d["message"]) for d in json.loads(out)["diagnostics"]]


def test_without_the_entry_point_the_kinds_are_unknown() -> None:
    """The control: the kinds come from the entry point, not from anything in the repository."""
    assert {code for code, _, _ in lint(_env(HERE / "site"), "events.flow")} == {"E101"}


def test_the_kinds_are_linted_like_ours(installed: dict[str, str]) -> None:
    assert lint(installed, "events.flow") == []
    assert ("E102", 3, "option 'topik' not recognised by 'kafkaish.consume'; did you mean 'topic'?") in lint(
        installed, "misspelt.flow"
    )


def test_w205_follows_the_traits(installed: dict[str, str]) -> None:
    """`relay` is fed by a redelivering source: W205. `reply` by an `answers_sender` one: nothing."""
    findings = lint(installed, "unhandled.flow")
    assert [(code, line) for code, line, _ in findings] == [("W205", 4)]
    assert "sink 'relay' (kafkaish.produce) has no error route" in findings[0][2]


def test_the_kinds_are_documented(installed: dict[str, str]) -> None:
    reference = flowengine(installed, "docs").stdout
    for kind in ("kafkaish.consume", "kafkaish.produce", "kafkaish.rpc"):
        assert f"## `{kind}`" in reference
    produce = reference.split("## `kafkaish.produce`")[1].split("## ")[0]
    assert "| `topic` | string | required | Topic to read from or write to |" in produce
    assert "*external*" in produce


def test_a_flow_test_runs_the_sink_as_a_double(installed: dict[str, str]) -> None:
    """The real `kafkaish.produce` always fails (no broker): the case passes only with a double."""
    proc = flowengine(installed, "test", "--no-coverage", str(FLOWS / "events.test.yaml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "a record is relayed to the other topic PASSED" in proc.stdout


def test_no_core_file_names_the_transport() -> None:
    core = [REPO / "pyproject.toml", *(p for d in ("dsl", "flowengine", "connectors") for p in (REPO / d).rglob("*.py"))]
    assert [p for p in core if "kafkaish" in p.read_text()] == []
