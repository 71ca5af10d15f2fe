"""Shared fixtures: a fresh engine per test, compiling helpers, a real HTTP server, `eventually`."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
import uvicorn

from flowengine.compile.compiler import CompileResult, compile_text
from flowengine.compile.graph import CompiledFlow
from flowengine.endpoints.protocol import SERVER_OPTIONS
from flowengine.runtime.engine import Engine

REPO = Path(__file__).resolve().parents[1]


async def eventually(check: Callable[[], object], timeout: float = 10.0, what: str = "condition") -> None:
    """Poll `check` until it is truthy; fail the test naming `what` after `timeout` seconds.
    The tests' one way to wait for something that happens on its own schedule (never a bare sleep)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.01)


def compile_ok(
    text: str, path: str = "test.flow", env: dict[str, str] | None = None, base_dir: Path = REPO / "flows"
) -> CompiledFlow:
    """Compile a one-flow text that must be free of errors; its file names start at `base_dir`."""
    result: CompileResult = compile_text(text, path, env=env or {}, base_dir=base_dir)
    assert result.ok, "\n".join(d.render(text) for d in result.diagnostics)
    (flow,) = result.flows
    return flow


def codes(text: str, env: dict[str, str] | None = None, base_dir: Path = REPO / "flows") -> list[str]:
    """The diagnostic codes of compiling `text`, in source order."""
    return [d.code for d in compile_text(text, "t.flow", env=env or {}, base_dir=base_dir).diagnostics]


@pytest.fixture
async def engine() -> AsyncIterator[Engine]:
    eng = Engine()
    yield eng
    await eng.stop(drain_timeout=5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def serving(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    """The engine's app served by a real uvicorn on a free loopback port, and a client for it."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(engine.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", **SERVER_OPTIONS)
    )
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started or task.done(), what="the HTTP server to start")
    assert server.started, "the HTTP server did not start"
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            yield client
    finally:
        server.should_exit = True
        await task


@pytest.fixture
async def http_server(engine: Engine) -> AsyncIterator[httpx.AsyncClient]:
    async with serving(engine) as client:
        yield client


class Upstream:
    """A real HTTP service for outbound tests: answers `statuses` in turn (then the last one)."""

    def __init__(self) -> None:
        self.statuses: list[int] = [200]
        self.calls: list[bytes] = []

    async def __call__(self, scope, receive, send) -> None:  # a bare ASGI app
        if scope["type"] != "http":
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        self.calls.append(body)
        status = self.statuses[min(len(self.calls) - 1, len(self.statuses) - 1)]
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body if status < 300 else b'{"error": "down"}'})


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Upstream, str]]:
    """A scripted upstream HTTP service on loopback, and its base URL."""
    app = Upstream()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started or task.done(), what="the HTTP server to start")
    assert server.started, "the HTTP server did not start"
    yield app, f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
