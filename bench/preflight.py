"""Before the benchmark starts: every program it will need is there, or installed, or named.

`make bench` on a fresh machine used to fail S2 three times over (`wrk` not found) after
minutes of other scenarios. Now the run checks first, for the systems and scenarios selected:
it installs what the harness's own setup (../shared/bench-peers/setup.sh) installs, the same
way (apt-get as root for `wrk`; each system's `setup` command, e.g. Node-RED with Node 22
through npm), and when something is still missing it says what and how to get it, and the
benchmark does not start.

    python -m bench.preflight [--system raw,flowengine,nodered] [--scenario S2] [--no-install]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class Tool:
    """A program on PATH that some scenarios or options need, and its Debian package."""

    command: str
    package: str
    why: str


WRK = Tool("wrk", "wrk", "S2's load generator")
MOSQUITTO = Tool("mosquitto", "mosquitto", "--own-mosquitto")
NPM = Tool("npm", "npm", "the nodered system's setup (Node-RED 5 and Node 22 from npm)")


def missing_packages(requirements: Path) -> list[str]:
    """The harness's requirements (its requirements.txt) not installed in this Python."""
    from packaging.requirements import Requirement

    missing = []
    for line in requirements.read_text().splitlines():
        spec = line.split("#", 1)[0].strip()
        if not spec:
            continue
        req = Requirement(spec)
        if req.marker is not None and not req.marker.evaluate():
            continue
        try:
            importlib.metadata.distribution(req.name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(spec)
    return missing


def install_packages(specs: list[str]) -> None:
    """pip-install the harness's missing requirements into this Python, as its setup.sh does into its own."""
    if specs:
        print(f"preflight: installing {' '.join(specs)} with pip", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *specs], check=False)


def tools_for(systems: list[str], scenarios: list[str], own_mosquitto: bool) -> list[Tool]:
    """The programs a selection needs, beyond Python packages (which `make bench` installs)."""
    needed = [WRK] if "S2" in scenarios else []
    needed += [MOSQUITTO] if own_mosquitto and {"S1", "S1lat"} & set(scenarios) else []
    needed += [NPM] if "nodered" in systems else []
    return needed


def _can_apt() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def install(tools: list[Tool]) -> None:
    """apt-get the missing tools' packages, as the harness's setup.sh does (root on Debian only)."""
    packages = sorted({t.package for t in tools if shutil.which(t.command) is None})
    if not packages or not _can_apt():
        return
    print(f"preflight: installing {' '.join(packages)} with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=False, env=env, stdout=subprocess.DEVNULL)


def missing_tools(tools: list[Tool]) -> list[str]:
    """One line per tool not on PATH: what needs it and how to install it."""
    return [f"{t.command} (for {t.why}): apt-get install {t.package}" for t in tools if shutil.which(t.command) is None]


def run_setups(systems: dict[str, dict[str, Any]], names: list[str], where: Path) -> list[str]:
    """Each selected system's `setup` command (idempotent installs); one line per failure."""
    failed = []
    for name in names:
        command = systems.get(name, {}).get("setup")
        if not command:
            continue
        print(f"preflight: setup {name}: {command}", flush=True)
        done = subprocess.run(command, shell=True, cwd=where, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            failed.append(f"setup of system {name} failed (exit {done.returncode}): {last}")
    return failed


def check_packages(where: Path, allow_install: bool = True) -> list[str]:
    """The harness's Python packages (needed before it can even be loaded): installed, or named."""
    requirements = where / "requirements.txt"
    if not requirements.is_file():
        return []
    if allow_install:
        install_packages(missing_packages(requirements))
    return [f"python package {spec} (the harness's {requirements}): pip install '{spec}'"
            for spec in missing_packages(requirements)]


def check_programs(systems: list[str], scenarios: list[str], *, own_mosquitto: bool,
                   allow_install: bool = True) -> list[str]:
    """The programs the selection drives: installed where the harness's setup would, or named."""
    tools = tools_for(systems, scenarios, own_mosquitto)
    if allow_install:
        install(tools)
    return missing_tools(tools)


def report(problems: list[str]) -> str:
    """What the user reads when the benchmark cannot start."""
    lines = "\n".join(f"  - {p}" for p in problems)
    return f"bench: cannot start, missing:\n{lines}\n(or run ../shared/bench-peers/setup.sh, which installs them)"


def prepare(systems: list[str], scenarios: list[str], results: Path, *, own_mosquitto: bool = False,
            install: bool = True) -> tuple[ModuleType | None, list[str]]:
    """The harness, and what the selection still lacks once installs were tried: the harness's
    Python packages, the programs it drives, the systems' own setup. No harness, no needs (the
    benchmark then gives the Flowengine-only figures)."""
    from bench.peers import load_harness, load_systems, peers_dir

    where = peers_dir()
    if not (where / "run.py").is_file():
        return None, []
    problems = check_packages(where, install)
    problems += check_programs(systems, scenarios, own_mosquitto=own_mosquitto, allow_install=install)
    harness = None if problems else load_harness(where)
    if harness is not None and install:
        problems = run_setups(load_systems(harness, where, results), systems, where)
    return harness, problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.preflight", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--system", default="raw,flowengine,nodered")
    p.add_argument("--scenario", default="S1,S1lat,S2,S3,S4")
    p.add_argument("--own-mosquitto", action="store_true")
    p.add_argument("--no-install", action="store_true", help="only check; install nothing")
    a = p.parse_args(argv)
    harness, problems = prepare(a.system.split(","), a.scenario.split(","), Path("/tmp"),
                                own_mosquitto=a.own_mosquitto, install=not a.no_install)
    if problems:
        print(report(problems), file=sys.stderr)
        return 2
    print("preflight: " + ("everything the benchmark needs is there" if harness else "no harness, nothing to check"))
    return 0

if __name__ == "__main__":
    sys.exit(main())
