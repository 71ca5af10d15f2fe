"""Flowengine-only measurements: start-up time, memory per deployed flow, lint time.

    start-up   `flowengine run bench/flows/s2.flow` until the first POST /orders is answered
               200 (polled every 5 ms); median of --startup-runs
    memory     RSS of one `flowengine run` process with 1, then 200 generated idle HTTP flows
               deployed (5 nodes each: http.listen, filter, json.map, template, http.reply),
               read once the last flow answers; per flow = (RSS 200 - RSS 1) / 199
    lint       `flowengine lint DIR` over 500 generated flow files; median of 3 runs

These need no peers and no broker. RSS is read from /proc (Linux).
"""

from __future__ import annotations

import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.peers import REPO

FLOWENGINE = str(Path(sys.executable).parent / "flowengine")
PORT = 18099
ORDER = b'{"order_id": "A-000001", "customer": {"id": "C-001", "name": "Customer 1"}, "currency": "EUR", ' \
    b'"items": [{"sku": "SKU-0013", "qty": 2, "price": 1.31}]}'

IDLE_FLOW = """\
flow idle_{i} "Idle flow {i}: deployed, never called during the measurement" {{
  source web      = http.listen(path: "/idle/{i}", method: "POST")
  branch real     = filter(condition: "body.site != 'test'")
  transform shape = json.map {{
      id:     body.id
      site:   body.site | upper
      value:  (body.value * 1.8 + 32) | round(2)
  }}
  transform text  = template(text: "reading {{{{ body.id }}}} at {{{{ body.site }}}}")
  sink reply      = http.reply(status: 200)

  web -> real -> shape -> text -> reply
}}
"""

LINT_FLOW = """\
# Generated for the lint benchmark, file {i}.
flow lint_{i} "Readings {i}: filter, map, route, publish" {{
  source readings = amqp.consume(queue: "lint.{i}.in", prefetch: {prefetch})
  branch real     = filter(condition: "body.site != 'test'")
  transform shape = json.map {{
      id:         body.id
      site:       body.site | lower
      celsius:    body.value
      fahrenheit: (body.value * 1.8 + 32) | round(2)
      status:     "high" if body.value > {limit} else "ok"
  }}
  branch route {{
      when body.status == "high" -> alert
      else                       -> store
  }}
  transform alert = json.map(mode: "merge") {{ severity: "warning" }}
  sink store      = amqp.publish(exchange: "lint", declare_exchange: "topic",
                                 routing_key: "readings.{{{{ body.site }}}}")
  sink notify     = mqtt.publish(topic: "lint/{i}/alerts", qos: 1)
  sink dead       = log(level: "warning", message: "reading {{{{ body.id }}}} failed")

  readings -> real -> shape -> route
  alert -> notify
  on error -> dead
}}
"""


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process used so far: start-up cost, whatever else runs."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _answers(path: str) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=1)
    try:
        conn.request("POST", path, ORDER if path == "/orders" else b'{"id": 1, "site": "a", "value": 1}',
                     {"content-type": "application/json"})
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


class _Engine:
    """`flowengine run` on PORT in its own session; ready once `path` answers 200."""

    def __init__(self, target: Path, state: Path) -> None:
        self.started = time.perf_counter()
        env = dict(os.environ, FLOWENGINE_STATE=str(state))
        self.proc = subprocess.Popen([FLOWENGINE, "run", str(target), "--port", str(PORT), "--log-level", "warning"],
                                     cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)

    def wait(self, path: str, timeout: float = 60) -> float:
        """Seconds from spawn until `path` answered 200."""
        while not _answers(path):
            if self.proc.poll() is not None:
                raise RuntimeError(f"flowengine exited: {self.proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            if time.perf_counter() - self.started > timeout:
                raise TimeoutError(f"{path} did not answer within {timeout}s")
            time.sleep(0.005)
        return time.perf_counter() - self.started

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


def startup(runs: int, tmp: Path) -> dict[str, Any]:
    times, cpu = [], []
    for _ in range(runs):
        engine = _Engine(REPO / "bench" / "flows" / "s2.flow", tmp / "startup.db")
        try:
            times.append(engine.wait("/orders"))
            cpu.append(_cpu_s(engine.proc.pid))
        finally:
            engine.stop()
    return {"what": "flowengine run bench/flows/s2.flow until the first 200", "runs_s": [round(t, 3) for t in times],
            "median_s": round(statistics.median(times), 3), "cpu_median_s": round(statistics.median(cpu), 3)}


def _write_flows(where: Path, count: int, text: str) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (where / f"f{i:03d}.flow").write_text(text.format(i=i, prefetch=16 + i % 64, limit=20 + i % 15))
    return where


def memory(count: int, tmp: Path) -> dict[str, Any]:
    res: dict[str, Any] = {"what": f"RSS of one engine with 1 and {count} idle 5-node HTTP flows"}
    for n in (1, count):
        flows = _write_flows(tmp / f"idle-{n}", n, IDLE_FLOW)
        engine = _Engine(flows, tmp / f"idle-{n}.db")
        try:
            res[f"ready_{n}_s"] = round(engine.wait(f"/idle/{n - 1}"), 3)
            time.sleep(0.5)  # let start-up garbage settle
            res[f"rss_{n}_mb"] = round(_rss_mb(engine.proc.pid), 1)
        finally:
            engine.stop()
    res["per_flow_kb"] = round((res[f"rss_{count}_mb"] - res["rss_1_mb"]) * 1024 / (count - 1), 1)
    return res


def lint(count: int, runs: int, tmp: Path) -> dict[str, Any]:
    flows = _write_flows(tmp / "lint", count, LINT_FLOW)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        done = subprocess.run([FLOWENGINE, "lint", str(flows)], capture_output=True, text=True, cwd=REPO)
        times.append(time.perf_counter() - t0)
        if done.returncode != 0:
            raise RuntimeError(f"lint of the generated files failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    med = statistics.median(times)
    return {"what": f"flowengine lint over {count} generated files (11 nodes each)",
            "runs_s": [round(t, 3) for t in times], "median_s": round(med, 3),
            "per_file_ms": round(med * 1000 / count, 2)}


def run_all(flows: int = 200, lint_files: int = 500, startup_runs: int = 5) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="flowengine-bench-") as td:
        tmp = Path(td)
        return {"startup": startup(startup_runs, tmp), "memory": memory(flows, tmp),
                "lint": lint(lint_files, 3, tmp)}


def render(extras: dict[str, Any]) -> str:
    s, m, li = extras["startup"], extras["memory"], extras["lint"]
    n = max(int(k[4:-3]) for k in m if k.startswith("rss_"))
    return "\n".join([
        "## Flowengine only", "",
        "| Measure | Result | Target |", "|---|---|---|",
        f"| start-up (`run s2.flow` to first 200) | {s['median_s']:.2f} s wall, {s['cpu_median_s']:.2f} s CPU "
        f"(runs {s['runs_s']}) | < 1 s |",
        f"| RSS, 1 idle flow | {m['rss_1_mb']:.0f} MB | |",
        f"| RSS, {n} idle flows | {m[f'rss_{n}_mb']:.0f} MB ({m['per_flow_kb']:.0f} KB per flow; "
        f"all ready in {m[f'ready_{n}_s']:.2f} s) | < 300 MB |",
        f"| lint, {li['what'].split(' over ')[1]} | {li['median_s']:.2f} s ({li['per_file_ms']:.1f} ms per file) | |",
        "",
    ])
