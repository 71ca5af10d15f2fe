"""The management API served by a real uvicorn on a free loopback port, with one token per role."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from flowengine.api import Settings, Tokens, assemble
from flowengine.api.auth import digest
from flowengine.api.server import Assembly
from flowengine.compile.netallow import HttpPolicy
from flowengine.compile.reach import Reach
from tests.conftest import REPO, eventually, free_port

TOKENS = {"viewer": "view-token-1", "deployer": "deploy-token-2", "admin": "admin-token-3"}
HELLO = (REPO / "flows/hello.flow").read_text()
TLS = ssl.create_default_context()  # one for every client: building a context per client costs ~0.1 s


def token_table() -> Tokens:
    """One token per role; the deployer's given as its digest, as a careful operator would."""
    return Tokens(
        {
            TOKENS["viewer"]: "viewer",
            f"sha256:{digest(TOKENS['deployer'])}": "deployer",
            TOKENS["admin"]: "admin",
        }
    )


def echo_flow(tag: str, name: str = "echo", path: str = "/echo") -> str:
    """An HTTP flow that answers with the request body plus its version tag, and copies it to memory."""
    return f"""flow {name} "Echo, tagged" {{
  source web = http.listen(path: "{path}")
  transform tag = json.map(mode: "merge") {{ version: "{tag}" }}
  sink answer = http.reply()
  sink copy = memory.out(channel: "{name}-copies")
  web -> tag -> answer
  tag -> copy
}}
"""


class ApiServer:
    """`flowengine serve`'s parts in-process, so a test can also reach the engine directly."""

    def __init__(self, state: Path, tokens: Tokens | None = None, **settings: object) -> None:
        self.state = state
        self.tokens = token_table() if tokens is None else tokens
        self.max_body_bytes = int(settings.pop("max_body_bytes", 1_048_576))  # type: ignore[call-overload]
        self.port = free_port()
        own = HttpPolicy(own=(("127.0.0.1", self.port),))  # as `serve --port` does
        settings.setdefault("reach", Reach.for_server(state, http=own))
        self.settings = Settings(**settings)  # type: ignore[arg-type]
        self.url = f"http://127.0.0.1:{self.port}"
        self.parts: Assembly | None = None
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> ApiServer:
        self.parts = assemble(self.state, self.tokens, self.settings, max_body_bytes=self.max_body_bytes)
        await self.parts.manager.restore()
        config = uvicorn.Config(self.parts.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        server, task = self._server, self._task
        await eventually(lambda: server.started or task.done(), what="the API server to start")
        assert server.started, "the API server did not start"
        return self

    async def stop(self) -> None:
        assert self._server is not None and self._task is not None and self.parts is not None
        self._server.should_exit = True
        await self._task
        await self.parts.close()

    def client(self, role: str | None = "admin", token: str | None = None) -> httpx.AsyncClient:
        token = token or (TOKENS[role] if role else None)
        headers = {"authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30, verify=TLS)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[ApiServer]:
    server = await ApiServer(tmp_path / "state.db").start()
    yield server
    await server.stop()


@pytest.fixture
async def admin(api: ApiServer) -> AsyncIterator[httpx.AsyncClient]:
    async with api.client("admin") as client:
        yield client


FLOWENGINE = shutil.which("flowengine", path=str(Path(sys.executable).parent)) or "flowengine"


def write_tokens(directory: Path) -> Path:
    path = directory / "tokens.json"
    path.write_text(json.dumps({token: role for role, token in TOKENS.items()}))
    return path


@contextlib.contextmanager
def serve_process(directory: Path, *args: str, scheme: str = "http") -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`flowengine serve` as a user starts it, stopped with SIGTERM; yields the process and its URL."""
    port = free_port()
    url = f"{scheme}://127.0.0.1:{port}"
    proc = subprocess.Popen(
        # the checkout is the files root, so deployed flows find schemas/ as they do in `run`
        [FLOWENGINE, "serve", "--port", str(port), "--state", str(directory / "state.db"), "--files-root", str(REPO), *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=2, verify=False)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline and proc.poll() is None, "the server did not start"
                time.sleep(0.1)
        yield proc, url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        if proc.stdout is not None and not proc.stdout.closed:
            proc.communicate(timeout=30)
