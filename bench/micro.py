"""In-process CPU per message: the engine's own cost, without sockets, brokers or other processes.

Each case is a flow between `memory.in` and `memory.out`, deployed in this process; N
messages go through `hub.send` one after the other and the process CPU time (not wall
time, so other load on the machine hardly matters) is divided by N. The cases add one
node kind at a time, so differences are what each node costs:

    walk       memory.in -> memory.out                      the runtime alone
    filter     + filter (one expression)                    S1/S3's condition
    s1-chain   + filter + json.map (7 expressions)          S1/S3's transforms
    s2-xml     memory.in -> template (XML) -> memory.out    S2's conversion
    plain-py   the S1 transform as plain Python, no engine  the floor

Best of --repeat runs (the least disturbed).
"""

from __future__ import annotations

import asyncio
import gc
import time
from typing import Any

import orjson

from bench.peers import REPO

S1_MAP = """json.map {
      run:        body.run
      id:         body.id
      site:       body.site
      sensor:     body.sensor
      celsius:    body.value
      fahrenheit: (body.value * 1.8 + 32) | round(2)
      status:     "high" if body.value > 30 else "ok"
  }"""

CASES = {
    "walk": ("", "src -> out"),
    "filter": ('branch real = filter(condition: "body.site != \'test\'")', "src -> real -> out"),
    "s1-chain": ('branch real = filter(condition: "body.site != \'test\'")\n  transform shape = ' + S1_MAP,
                 "src -> real -> shape -> out"),
}


def _s2_template() -> str:
    text = (REPO / "bench" / "flows" / "s2.flow").read_text()
    start = text.index("transform as_xml")
    return text[start:text.index("\n  sink reply", start)]


def _flow(name: str, nodes: str, edges: str) -> str:
    return (f"flow micro_{name.replace('-', '_')} {{\n  source src = memory.in(channel: \"{name}\")\n  {nodes}\n"
            f"  sink out = memory.out(channel: \"{name}-out\")\n  {edges}\n}}\n")


def _reading(i: int) -> bytes:
    return orjson.dumps({"run": "micro", "id": i, "site": "test" if i % 10 == 9 else "plant-1",
                         "sensor": f"s-{i % 50:03d}", "value": round(15 + (i * 7 % 200) / 10, 1), "unit": "C"})


def _order(i: int) -> bytes:
    items = [{"sku": f"SKU-{k:04d}", "qty": 1 + k, "price": 1.5 + k} for k in range(1 + i % 4)]
    return orjson.dumps({"order_id": f"A-{i:06d}", "customer": {"id": "C-001", "name": "Customer 1"},
                         "currency": "EUR", "items": items})


async def _measure(text: str, channel: str, make: Any, n: int) -> float:
    from connectors.memory import hub_of
    from flowengine.compile.compiler import compile_text
    from flowengine.core.message import Message
    from flowengine.runtime.engine import Engine

    result = compile_text(text, f"<micro {channel}>", base_dir=REPO)
    if not result.ok:
        raise RuntimeError(f"micro flow does not compile: {result.diagnostics}")
    engine = Engine()
    await engine.deploy(result.flows[0])
    hub = hub_of(engine.services)
    bodies = [make(i) for i in range(n)]
    try:
        for body in bodies[:200]:  # warm caches
            await hub.send(channel, Message(body, content_type="application/json"))
        gc.collect()
        t0 = time.process_time()
        for body in bodies:
            outcome = await hub.send(channel, Message(body, content_type="application/json"))
            if not outcome.ok:
                raise RuntimeError(f"micro {channel}: {outcome.error}")
        return (time.process_time() - t0) / n
    finally:
        await engine.stop()


def _plain(n: int) -> float:
    bodies = [_reading(i) for i in range(n)]
    t0 = time.process_time()
    for body in bodies:
        d = orjson.loads(body)
        if d["site"] != "test":
            v = d["value"]
            orjson.dumps({"run": d["run"], "id": d["id"], "site": d["site"], "sensor": d["sensor"], "celsius": v,
                          "fahrenheit": round(v * 1.8 + 32, 2), "status": "high" if v > 30 else "ok"})
    return (time.process_time() - t0) / n


def run_all(n: int = 5000, repeat: int = 3) -> dict[str, Any]:
    cases: dict[str, tuple[str, Any]] = {k: (_flow(k, nodes, edges), _reading) for k, (nodes, edges) in CASES.items()}
    cases["s2-xml"] = (_flow("s2-xml", _s2_template(), "src -> as_xml -> out"), _order)
    out: dict[str, Any] = {"what": f"process CPU per message, {n} messages in sequence, best of {repeat}", "us": {}}
    for name, (text, make) in cases.items():
        best = min(asyncio.run(_measure(text, name, make, n)) for _ in range(repeat))
        out["us"][name] = round(best * 1e6, 1)
    out["us"]["plain-py"] = round(min(_plain(n) for _ in range(repeat)) * 1e6, 1)
    return out


def render(micro: dict[str, Any]) -> str:
    rows = [f"| {name} | {us:.1f} |" for name, us in micro["us"].items()]
    return "\n".join(["## In-process CPU per message (no I/O)", "", f"{micro['what']}.", "",
                      "| Case | µs/msg |", "|---|---|", *rows, ""])


if __name__ == "__main__":
    print(render(run_all()))
