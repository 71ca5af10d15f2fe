"""Run compiled flows under an in-process uvicorn server until SIGINT/SIGTERM.

Uvicorn owns the signals; when it returns, the engine drains every flow (in-
flight messages finish, sources stop) before the process exits.
"""

from __future__ import annotations

import logging

import uvicorn

from flowengine.compiler import CompileResult
from flowengine.engine import Engine

log = logging.getLogger("flowengine")


async def run_flows(results: list[CompileResult], host: str, port: int) -> None:
    engine = Engine()
    await engine.deploy_all(results)
    for runtime in engine.flows.values():
        log.info("running flow %s", runtime.name)
    server = uvicorn.Server(uvicorn.Config(engine.app, host=host, port=port, log_level="warning", lifespan="off"))
    log.info("serving on http://%s:%d", host, port)
    try:
        await server.serve()
    finally:
        await engine.stop()
