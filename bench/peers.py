"""The shared peer harness (../shared/bench-peers), used in place at run time, never copied.

The harness runs each system fresh per round, probes it, drives the load generator,
samples CPU and checks every output; its `run.py` is imported as a module and its
`run_one`, `summarize` and `render` do the work for us. Systems come from its
`systems/*.toml` (raw relays, Node-RED) plus ours in `bench/systems/` (Flowengine,
and the raw relay's S4), with `{repo}`, `{bin}` and `{results}` filled in here
before the harness fills its own placeholders (`{python}`, `{http_port}`, ...).

S4 (HL7 over MLLP) is not in the harness: `bench.s4` adds its scenario and probe.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PEERS = REPO.parent / "shared" / "bench-peers"
OUR_SYSTEMS = Path(__file__).resolve().parent / "systems"


def peers_dir() -> Path:
    """Where the harness is: $BENCH_PEERS, else ../shared/bench-peers beside the repo."""
    return Path(os.environ.get("BENCH_PEERS", DEFAULT_PEERS)).resolve()


def load_harness(where: Path) -> ModuleType | None:
    """The harness's run.py as a module (None when there is no harness at `where`)."""
    run_py = where / "run.py"
    if not run_py.is_file():
        return None
    if str(where) not in sys.path:
        sys.path.insert(0, str(where))  # its `harness` package
    spec = importlib.util.spec_from_file_location("bench_peers_run", run_py)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fill(value: Any, values: dict[str, str]) -> Any:
    """Fill our placeholders in every string of a system definition, leaving the harness's."""
    if isinstance(value, str):
        for key, text in values.items():
            value = value.replace("{" + key + "}", text)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    return value


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def load_systems(harness: ModuleType, where: Path, results: Path) -> dict[str, dict[str, Any]]:
    """The harness's systems merged with ours (same name: ours add scenarios and env)."""
    systems: dict[str, dict[str, Any]] = harness.load_systems()
    values = {"repo": str(REPO), "bin": str(Path(sys.executable).parent), "results": str(results)}
    for path in sorted(OUR_SYSTEMS.glob("*.toml")):
        with path.open("rb") as fh:
            ours = _fill(tomllib.load(fh), values)
        name = ours.get("name", path.stem)
        if name in systems:
            _merge(systems[name], ours)
        else:
            systems[name] = ours
    for system in systems.values():
        # the load generators of our scenarios (bench.load_mllp) import from the repo
        system.setdefault("env", {})["PYTHONPATH"] = os.pathsep.join((str(where), str(REPO)))
    return systems
