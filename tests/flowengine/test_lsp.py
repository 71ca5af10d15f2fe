"""`flowengine lsp` driven over stdio with real JSON-RPC messages, as an editor drives it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from dsl.formatter import format_text
from tests.api.conftest import FLOWENGINE

BROKEN = """flow broken "A flow with two mistakes" {
  source web = http.listen(path: "/in")
  sink out   = memory.out(channel: "📦-box", chanel: "x")
  sink audit = amqp.publsh(routing_key: "audit")
  web -> out
  web -> audit
}
"""
FIXED = BROKEN.replace(', chanel: "x"', "").replace("publsh", "publish")
UNFORMATTED = 'flow tidy {\nsource web=http.listen(path:"/in")\n  sink out = memory.out()\n web->out\n}\n'


class Client:
    """A minimal LSP client: Content-Length framed JSON-RPC over the server's stdin/stdout."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.next_id = 0
        self.notifications: list[dict[str, Any]] = []

    async def send(self, method: str, params: Any, *, request: bool = False) -> int | None:
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "params": params}
        if request:
            self.next_id += 1
            message["id"] = self.next_id
        body = json.dumps(message).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await self.proc.stdin.drain()
        return message.get("id")

    async def receive(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        length = None
        while True:
            line = await asyncio.wait_for(self.proc.stdout.readline(), 20)
            assert line, "the server closed its output"
            if line == b"\r\n":
                break
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        assert length is not None
        return json.loads(await asyncio.wait_for(self.proc.stdout.readexactly(length), 20))

    async def request(self, method: str, params: Any) -> Any:
        wanted = await self.send(method, params, request=True)
        while True:
            message = await self.receive()
            if message.get("id") == wanted and "method" not in message:
                assert "error" not in message, message
                return message["result"]
            self.notifications.append(message)

    async def diagnostics(self, uri: str) -> dict[str, Any]:
        """The next publishDiagnostics for `uri` (log messages and others are kept aside)."""
        while True:
            message = await self.receive()
            if message.get("method") == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri:
                return message["params"]
            self.notifications.append(message)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    proc = await asyncio.create_subprocess_exec(
        FLOWENGINE, "lsp", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=tmp_path
    )
    lsp = Client(proc)
    result = await lsp.request("initialize", {"processId": None, "rootUri": tmp_path.as_uri(), "capabilities": {}})
    assert result["serverInfo"]["name"] == "flowengine"
    assert result["capabilities"]["documentFormattingProvider"] is True
    await lsp.send("initialized", {})
    yield lsp
    assert await lsp.request("shutdown", None) is None
    await lsp.send("exit", None)
    assert await asyncio.wait_for(proc.wait(), 20) == 0


def opened(uri: str, text: str) -> dict[str, Any]:
    return {"textDocument": {"uri": uri, "languageId": "flowengine", "version": 1, "text": text}}


async def test_diagnostics_on_open_with_0_based_utf16_ranges(client: Client, tmp_path: Path):
    uri = (tmp_path / "broken.flow").as_uri()
    await client.send("textDocument/didOpen", opened(uri, BROKEN))
    published = await client.diagnostics(uri)
    assert published["version"] == 1
    assert published["diagnostics"] == [
        {
            # `lint` says 3:45-3:51; 📦 is two UTF-16 units, the LSP default encoding
            "range": {"start": {"line": 2, "character": 45}, "end": {"line": 2, "character": 51}},
            "severity": 1,
            "code": "E102",
            "source": "flowengine",
            "message": "option 'chanel' not recognised by 'memory.out'; did you mean 'channel'?",
        },
        {
            "range": {"start": {"line": 3, "character": 15}, "end": {"line": 3, "character": 26}},
            "severity": 1,
            "code": "E101",
            "source": "flowengine",
            "message": "unknown node kind 'amqp.publsh'; did you mean 'amqp.publish'?",
        },
    ]


async def test_a_change_that_fixes_the_flow_clears_them(client: Client, tmp_path: Path):
    uri = (tmp_path / "broken.flow").as_uri()
    await client.send("textDocument/didOpen", opened(uri, BROKEN))
    assert len((await client.diagnostics(uri))["diagnostics"]) == 2
    change = {
        "range": {"start": {"line": 3, "character": 15}, "end": {"line": 3, "character": 26}},
        "text": "amqp.publish",
    }
    await client.send(
        "textDocument/didChange", {"textDocument": {"uri": uri, "version": 2}, "contentChanges": [change]}
    )
    published = await client.diagnostics(uri)
    assert published["version"] == 2 and [d["code"] for d in published["diagnostics"]] == ["E102"]
    await client.send(
        "textDocument/didChange", {"textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": FIXED}]}
    )
    assert (await client.diagnostics(uri))["diagnostics"] == []


async def test_a_syntax_error_and_a_warning(client: Client, tmp_path: Path):
    uri = (tmp_path / "typo.flow").as_uri()
    await client.send("textDocument/didOpen", opened(uri, 'flow t {\n  source web = http.listen(path: "/in"\n}\n'))
    (syntax,) = (await client.diagnostics(uri))["diagnostics"]
    assert syntax["severity"] == 1 and syntax["range"]["start"] == {"line": 1, "character": 38}  # where ')' belongs
    assert syntax["message"].startswith("syntax error: '(' opened at 2:27 is not closed")
    uri = (tmp_path / "warn.flow").as_uri()
    secret = 'sink out = http.request(url: "http://127.0.0.1:9/x", headers: {"authorization": "Bearer abc123"})'
    await client.send("textDocument/didOpen", opened(uri, UNFORMATTED.replace("sink out = memory.out()", secret)))
    (warning,) = (await client.diagnostics(uri))["diagnostics"]
    assert warning["severity"] == 2 and warning["code"] == "W207" and "\nhint: " in warning["message"]


async def test_formatting_gives_fmt_layout(client: Client, tmp_path: Path):
    uri = (tmp_path / "tidy.flow").as_uri()
    await client.send("textDocument/didOpen", opened(uri, UNFORMATTED))
    await client.diagnostics(uri)
    (edit,) = await client.request(
        "textDocument/formatting", {"textDocument": {"uri": uri}, "options": {"tabSize": 2, "insertSpaces": True}}
    )
    assert edit["newText"] == format_text(UNFORMATTED)
    assert edit["range"] == {"start": {"line": 0, "character": 0}, "end": {"line": 5, "character": 0}}


async def test_deep_nesting_and_a_lone_surrogate_are_diagnostics_not_a_crash(client: Client, tmp_path: Path):
    deep = (tmp_path / "deep.flow").as_uri()
    await client.send("textDocument/didOpen", opened(deep, "flow f {\n  source a = memory.in(x: " + "[" * 5000 + ")\n}\n"))
    (found,) = (await client.diagnostics(deep))["diagnostics"]
    assert found["code"] == "E004" and found["range"]["start"] == {"line": 1, "character": 56}
    lone = (tmp_path / "lone.flow").as_uri()
    await client.send("textDocument/didOpen", opened(lone, "flow f {\n  # \ud800\n}\n"))
    (found,) = (await client.diagnostics(lone))["diagnostics"]
    assert found["code"] == "E005" and found["range"]["start"] == {"line": 1, "character": 4}
    assert found["message"].startswith("not UTF-8 at byte 13: lone surrogate U+D800")
