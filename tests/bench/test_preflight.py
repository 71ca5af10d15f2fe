"""`bench.preflight`: the benchmark names what it lacks before it starts, never minutes later."""

from __future__ import annotations

import os
import subprocess
import sys

from bench import preflight
from bench.peers import REPO, peers_dir
from tests.shared_data import absent


def test_each_selection_needs_its_own_programs():
    assert preflight.tools_for(["flowengine"], ["S1", "S3"], own_mosquitto=False) == []
    assert preflight.tools_for(["raw", "nodered"], ["S2"], own_mosquitto=False) == [preflight.WRK, preflight.NPM]
    assert preflight.tools_for(["raw"], ["S1"], own_mosquitto=True) == [preflight.MOSQUITTO]


def test_a_program_not_on_path_is_named_with_its_package(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without them
    assert preflight.missing_tools([preflight.WRK, preflight.NPM]) == [
        "wrk (for S2's load generator): apt-get install wrk",
        "npm (for the nodered system's setup (Node-RED 5 and Node 22 from npm)): apt-get install npm",
    ]


def test_python_requirements_of_the_harness_that_are_not_installed(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("httpx\nflowengine-no-such-package>=1  # absent\ntomli; python_version < '3.0'\n")
    assert preflight.missing_packages(requirements) == ["flowengine-no-such-package>=1"]


def test_make_bench_without_wrk_stops_before_it_starts_and_says_why(tmp_path):
    if not (peers_dir() / "run.py").is_file():
        absent(f"bench harness not found at {peers_dir()} (set BENCH_PEERS)")
    results = REPO / "bench" / "results"
    before = sorted(results.iterdir()) if results.is_dir() else []
    env = {**os.environ, "PATH": str(tmp_path), "BENCH_PEERS": str(peers_dir())}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--no-install", "--scenario", "S2", "--system", "flowengine", "--no-extras"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
    assert proc.stderr.startswith("bench: cannot start, missing:\n")
    assert "\n  - wrk (for S2's load generator): apt-get install wrk\n" in proc.stderr
    assert (sorted(results.iterdir()) if results.is_dir() else []) == before
