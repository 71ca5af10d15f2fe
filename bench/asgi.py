"""In-process CPU per S2 request at the ASGI level: the engine's app against the raw FastAPI peer.

    python -m bench.asgi [--n 5000] [--repeat 3]

Each application is called directly with an ASGI scope, `receive` and `send`, no server and
no socket, for the harness's S2 orders (`POST /orders`, JSON in, XML out): `flowengine`
is the application `flowengine run bench/flows/s2.flow` serves, `raw` the peer's FastAPI
endpoint. Process CPU time (not wall time, so other load hardly matters) divided by the
number of requests, best of --repeat runs. What is left between these figures and the CPU
per request of the real servers is uvicorn's own work, the same for both.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from bench.micro import _order
from bench.peers import REPO, peers_dir

Asgi = Any


def _scope(body: bytes) -> dict[str, Any]:
    """What uvicorn hands an application for one `POST /orders` (httptools protocol)."""
    return {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.4"}, "http_version": "1.1",
        "server": ("127.0.0.1", 18080), "client": ("127.0.0.1", 40000), "scheme": "http", "method": "POST",
        "root_path": "", "path": "/orders", "raw_path": b"/orders", "query_string": b"", "state": {},
        "headers": [(b"host", b"127.0.0.1:18080"), (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())],
    }  # fmt: skip


async def _request(app: Asgi, body: bytes) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    events = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict[str, Any]:
        return events.pop() if events else {"type": "http.disconnect"}

    async def send(event: dict[str, Any]) -> None:
        sent.append(event)

    await app(_scope(body), receive, send)
    return sent


async def _per_request(app: Asgi, n: int, repeat: int) -> float:
    bodies = [_order(i) for i in range(200)]
    for body in bodies:  # warm caches, and check the answer
        start = (await _request(app, body))[0]
        if start["status"] != 200:
            raise RuntimeError(f"S2 request answered {start['status']}")
    best = float("inf")
    for _ in range(repeat):
        gc.collect()
        t0 = time.process_time()
        for i in range(n):
            await _request(app, bodies[i % 200])
        best = min(best, (time.process_time() - t0) / n)
    return best


async def _flowengine(n: int, repeat: int) -> float:
    from flowengine.compile.compiler import compile_file
    from flowengine.runtime.engine import Engine
    from flowengine.runtime.services import Services

    with tempfile.TemporaryDirectory() as state:
        engine = Engine(Services(Path(state) / "state.db"))
        await engine.deploy_all([compile_file(REPO / "bench" / "flows" / "s2.flow")])
        try:
            return await _per_request(engine.app, n, repeat)
        finally:
            await engine.stop()
            engine.services.close()


def _raw_app() -> Asgi | None:
    path = peers_dir() / "peers" / "raw" / "http_app.py"
    spec = importlib.util.spec_from_file_location("bench_raw_http_app", path)
    if not path.is_file() or spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


def run_all(n: int = 5000, repeat: int = 3) -> dict[str, float]:
    """µs of process CPU per S2 request, by application (`raw` only where the harness is)."""
    from flowengine.runtime.eventloop import run

    out = {"flowengine": round(run(_flowengine(n, repeat)) * 1e6, 1)}
    raw = _raw_app()
    if raw is not None:
        out["raw"] = round(run(_per_request(raw, n, repeat)) * 1e6, 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000, help="requests per run")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best counts")
    args = parser.parse_args()
    result = run_all(args.n, args.repeat)
    print(" ".join(f"{name} {us:.1f} µs/req" for name, us in result.items()))
    if "raw" in result:
        print(f"flowengine / raw CPU: {result['flowengine'] / result['raw']:.2f}")
    print(orjson.dumps(result).decode())


if __name__ == "__main__":
    main()
