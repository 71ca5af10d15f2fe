"""Run compiled flows under an in-process uvicorn server until SIGINT/SIGTERM.

Uvicorn catches the signal and stops serving; then the engine drains every
flow (in-flight messages finish, sources stop) and the process exits 0.

Once the flows are deployed, everything alive (modules, compiled flows, the
registry: some 60,000 objects) is moved out of the garbage collector's sight with
`gc.freeze()`. It stays alive for the life of the process anyway, and every full
collection under load used to walk all of it: a 25-35 ms pause about once a
second at 13,000 requests/s, which set the p99 of S2 (docs/performance.md).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import socket
from collections.abc import Generator
from pathlib import Path

import uvicorn

from flowengine.compile.compiler import CompileResult
from flowengine.endpoints.protocol import SERVER_OPTIONS
from flowengine.errors import FlowengineError
from flowengine.runtime.engine import Engine
from flowengine.runtime.listen import address
from flowengine.runtime.services import Services

log = logging.getLogger("flowengine")


class EngineServer(uvicorn.Server):
    """Uvicorn without its re-raise of the caught signal after shutdown: the engine
    still has flows to drain, and exits on its own once they are."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()


async def run_flows(results: list[CompileResult], sock: socket.socket, state: Path) -> None:
    """Deploy the flows, then serve their HTTP endpoints on `sock` (bound by the caller)."""
    engine = Engine(Services(state))
    for flow in (flow for result in results for flow in result.flows):  # compiled without errors (the CLI checked)
        try:
            await engine.deploy(flow)
        except FlowengineError as err:  # a broker that cannot be reached, a port in use, ...
            await engine.stop()
            engine.services.close()
            log.error("cannot start flow %s: %s", flow.name, err)
            raise SystemExit(1) from None
    for runtime in engine.flows.values():
        log.info("running flow %s", runtime.name)
    gc.freeze()
    config = uvicorn.Config(engine.app, log_level="warning", access_log=False, lifespan="off", **SERVER_OPTIONS)
    server = EngineServer(config)
    log.info("serving on http://%s", address(sock))
    try:
        await server.serve(sockets=[sock])
    finally:
        await engine.stop()
        engine.services.close()
