"""Put the server together and run it: store, engine, registry, metrics, app, uvicorn.

`assemble` wires the parts (the tests use it in-process); `serve` restores the
recorded flows, serves until SIGINT/SIGTERM, then drains every flow before the
process exits, so a restart by an orchestrator loses no message in flight.
"""

from __future__ import annotations

import gc
import logging
import socket
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from flowengine.api.app import create_app
from flowengine.api.auth import Tokens
from flowengine.api.deployments import Deployments
from flowengine.api.manager import FlowManager, Settings
from flowengine.api.metrics import FlowState, Metrics
from flowengine.endpoints.protocol import SERVER_OPTIONS
from flowengine.runtime.engine import Engine
from flowengine.runtime.listen import address
from flowengine.runtime.services import Services
from flowengine.runtime.serving import EngineServer

log = logging.getLogger("flowengine")


@dataclass
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8080
    state: Path = Path(".flowengine/state.db")
    certfile: Path | None = None
    keyfile: Path | None = None
    max_body_bytes: int = 1_048_576
    limit_concurrency: int | None = 1000
    settings: Settings = field(default_factory=Settings)


@dataclass
class Assembly:
    services: Services
    engine: Engine
    manager: FlowManager
    metrics: Metrics
    app: FastAPI

    async def close(self) -> None:
        """Drain and stop every flow, then close the store."""
        await self.engine.stop(self.manager.settings.drain_timeout)
        self.services.close()


def assemble(state: Path | str, tokens: Tokens, settings: Settings, *, max_body_bytes: int = 1_048_576) -> Assembly:
    services = Services(state)
    metrics = Metrics()
    engine = Engine(services, observe=metrics.observe)
    manager = FlowManager(engine, Deployments(services.store), settings, forget=metrics.forget)
    metrics.watch(engine, lambda: _states(manager))
    app = create_app(manager, tokens, metrics, max_body_bytes=max_body_bytes)
    return Assembly(services, engine, manager, metrics, app)


def _states(manager: FlowManager) -> list[FlowState]:
    out = []
    for dep in manager.deployments.all():
        runtime = manager.runtime(dep.name)
        out.append((dep.name, dep.revision.version, runtime is not None and not runtime.paused))
    return out


def uvicorn_config(app: FastAPI, options: ServeOptions, log_level: str = "warning") -> uvicorn.Config:
    """Uvicorn's settings; host and port matter only where uvicorn binds itself (tests)."""
    return uvicorn.Config(
        app,
        host=options.host,
        port=options.port,
        ssl_certfile=str(options.certfile) if options.certfile else None,
        ssl_keyfile=str(options.keyfile) if options.keyfile else None,
        limit_concurrency=options.limit_concurrency,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        **SERVER_OPTIONS,
    )


async def serve(options: ServeOptions, tokens: Tokens, sock: socket.socket) -> None:
    """Restore the recorded flows and serve on `sock` (bound by the caller) until a signal."""
    parts = assemble(options.state, tokens, options.settings, max_body_bytes=options.max_body_bytes)
    try:
        await parts.manager.restore()
        gc.freeze()  # modules and restored flows live as long as the process: out of full collections' way
        if not tokens:
            log.warning("no tokens configured: the management API answers 503 until started with --tokens")
        scheme = "https" if options.certfile else "http"
        log.info("serving on %s://%s (state: %s)", scheme, address(sock), options.state)
        await EngineServer(uvicorn_config(parts.app, options)).serve(sockets=[sock])
    finally:
        await parts.close()
