"""The benchmark: Flowengine beside hand-written relays and Node-RED, then Flowengine-only figures.

    python -m bench [--system raw,flowengine,nodered] [--scenario S1,S1lat,S2,S3,S4] [--rounds 3]
                    [--quick] [--n N] [--arg S1.window=100] [--own-mosquitto] [--no-extras | --only-extras]

Scenarios S1-S3 are the shared harness's (../shared/bench-peers, used in place: its load
generators, checks, CPU sampling and report); S4 (HL7 over MLLP) is ours, run by the same
harness. Systems alternate per round (A B C A B C ...), each started fresh; the first system
is the baseline of the ratios. Then start-up time, memory per deployed flow and lint time
(`bench.extras`) and the engine's in-process CPU per message (`bench.micro`), which need
no harness. Before anything runs, `bench.preflight` installs or names every program the
selection needs (wrk for S2, npm for Node-RED, ...): a missing one stops the run (exit 2)
before it starts. Everything lands in bench/results/<stamp>/:
meta.json, runs.jsonl, summary.json (rows, extras), report.md and logs/.
Exit 0 only if every run passed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from bench import extras, micro, preflight, s4
from bench.peers import REPO, load_systems, peers_dir

RESULTS = REPO / "bench" / "results"
DEFAULT_SYSTEMS = ("raw", "flowengine", "nodered")
SCENARIOS = ("S1", "S1lat", "S2", "S3", "S4")
OWN_MQTT_PORT = 18830  # the harness's brokers/mosquitto-bench.conf listens here


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--system", default=",".join(DEFAULT_SYSTEMS), help="comma list; the first is the baseline")
    p.add_argument("--scenario", default=",".join(SCENARIOS), help="comma list")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="the scenarios' small counts (a run of a few minutes)")
    p.add_argument("--n", type=int, help="override n of every scenario")
    p.add_argument("--arg", action="append", default=[], help="SCENARIO.key=value, e.g. S1.window=100")
    p.add_argument("--own-mosquitto", action="store_true",
                   help=f"run MQTT scenarios on a private Mosquitto with TCP_NODELAY (port {OWN_MQTT_PORT})")
    p.add_argument("--no-extras", action="store_true", help="skip start-up, memory and lint")
    p.add_argument("--only-extras", action="store_true", help="only start-up, memory and lint")
    p.add_argument("--no-install", action="store_true",
                   help="check the programs the run needs (wrk, npm, ...) but install none; exit 2 if any is missing")
    p.add_argument("--flows", type=int, default=200, help="idle flows deployed for the memory figure")
    p.add_argument("--lint-files", type=int, default=500, help="generated files for the lint figure")
    return p.parse_args(argv)


def scenario_args(shared: ModuleType, a: argparse.Namespace, names: list[str]) -> dict[str, dict[str, Any]]:
    out = {}
    for name in names:
        sc = shared.SCENARIOS[name]
        args = dict(sc.args) | (dict(sc.quick) if a.quick else {}) | ({"n": a.n} if a.n else {})
        out[name] = args
    for kv in a.arg:
        key, _, value = kv.partition("=")
        scn, _, field = key.partition(".")
        if scn not in out or not field:
            raise SystemExit(f"--arg {kv!r}: expected SCENARIO.key=value for a selected scenario")
        out[scn][field] = shared.parse_value(value)
    return out


def run_scenarios(shared: ModuleType, a: argparse.Namespace, outdir: Path) -> tuple[dict[str, Any], list[dict]]:
    """Every selected scenario x round x system through the harness's `run_one`."""
    s4.install(shared)
    systems = load_systems(shared, peers_dir(), outdir)
    names = [n for n in a.system.split(",") if n]
    unknown = [n for n in names if n not in systems]
    if unknown:
        raise SystemExit(f"unknown system(s) {', '.join(unknown)}; known: {', '.join(systems)}")
    scenarios = [s for s in a.scenario.split(",") if s]
    bad = [s for s in scenarios if s not in shared.SCENARIOS]
    if bad:
        raise SystemExit(f"unknown scenario(s) {', '.join(bad)}; known: {', '.join(shared.SCENARIOS)}")
    sargs = scenario_args(shared, a, scenarios)
    logdir = outdir / "logs"
    logdir.mkdir(parents=True)
    ctx: dict[str, Any] = {"http_port": shared.HTTP_PORT, "mqtt_host": "127.0.0.1", "mqtt_port": 1883,
                           "amqp_url": os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")}
    broker = None
    if a.own_mosquitto:
        broker = subprocess.Popen(["mosquitto", "-c", str(peers_dir() / "brokers" / "mosquitto-bench.conf")],
                                  stdout=(logdir / "mosquitto.log").open("w"), stderr=subprocess.STDOUT,
                                  start_new_session=True)
        ctx.update(mqtt_port=OWN_MQTT_PORT, own_broker_pid=broker.pid)
        time.sleep(0.5)
    meta = {"stamp": outdir.name, "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
            "machine": shared.machine_info(), "versions": shared.versions({n: systems[n] for n in names}),
            "command": " ".join([Path(sys.executable).name, "-m", "bench", *sys.argv[1:]]),
            "systems": {n: systems[n].get("description", "") for n in names}, "system_order": names,
            "scenarios": scenarios, "rounds": a.rounds, "baseline": names[0],
            "mqtt_broker": (f"private mosquitto (TCP_NODELAY) on 127.0.0.1:{OWN_MQTT_PORT}" if broker
                            else "machine's mosquitto on 127.0.0.1:1883"),
            "amqp_broker": ctx["amqp_url"].split("@")[-1], "scenario_args": sargs}
    (outdir / "meta.json").write_text(json.dumps(meta, indent=2))
    runs: list[dict] = []
    try:
        with (outdir / "runs.jsonl").open("w") as jf:
            for scn in scenarios:
                sc = shared.SCENARIOS[scn]
                for rnd in range(1, a.rounds + 1):
                    for n in names:
                        if sc.start_key not in systems[n].get("scenarios", {}):
                            continue
                        rec = shared.run_one(ctx, systems[n], sc, rnd, len(runs) + 1, sargs[scn], str(logdir))
                        runs.append(rec)
                        jf.write(json.dumps(rec) + "\n")
                        jf.flush()
                        res = rec.get("result") or {}
                        print(f"#{len(runs)} {scn} {n} r{rnd}: {'ok' if rec['ok'] else 'FAIL'} "
                              f"tput {res.get('throughput')} p50 {res.get('p50_ms')} p99 {res.get('p99_ms')} "
                              f"{rec.get('error', '')}", flush=True)
    finally:
        if broker is not None:
            shared.stop_system(broker, 5)
    return meta, runs


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    outdir = RESULTS / dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    shared = None
    if not a.only_extras:
        shared, problems = preflight.prepare(a.system.split(","), a.scenario.split(","), outdir,
                                             own_mosquitto=a.own_mosquitto, install=not a.no_install)
        if problems:
            print(preflight.report(problems), file=sys.stderr, flush=True)
            return 2
    outdir.mkdir(parents=True)
    ok = True
    report = ""
    summary: dict[str, Any] = {}
    if not a.only_extras:
        if shared is None:
            print(f"no harness at {peers_dir()} (set BENCH_PEERS): S1-S4 skipped, Flowengine-only figures follow",
                  flush=True)
        else:
            meta, runs = run_scenarios(shared, a, outdir)
            report = shared.write_report(str(outdir), meta, runs)
            summary = json.loads((outdir / "summary.json").read_text())
            ok = bool(runs) and all(r["ok"] for r in runs)
    if not a.no_extras:
        print("in-process CPU per message, start-up, memory and lint ...", flush=True)
        summary["micro"] = micro.run_all()
        summary["extras"] = extras.run_all(a.flows, a.lint_files)
        report += "\n" + micro.render(summary["micro"]) + "\n" + extras.render(summary["extras"])
    (outdir / "summary.json").write_text(json.dumps(summary, indent=2))
    (outdir / "report.md").write_text(report)
    print(report)
    print(f"results: {outdir}")
    return 0 if ok else 1
