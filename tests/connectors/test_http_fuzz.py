"""`http.listen` under malformed and hostile requests (issue 19): a 4xx JSON answer, never a traceback.

A real uvicorn (the engine's own protocol and options, `flowengine.endpoints.protocol`) on
loopback; raw sockets for what httpx would refuse to send, httpx for bodies. Every
case must be answered 4xx with `{"error": {"type", "message"}}`, and the logs of
uvicorn and the engine, captured whole, must hold no traceback and only one-line
records. The hypothesis cases are derandomized and few, so the file stays well under
20 seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowengine.endpoints.protocol import MAX_HEAD_BYTES, JsonErrorsProtocol, check
from flowengine.runtime.engine import Engine
from tests.conftest import compile_ok

ECHO = """
flow fuzz {
  source in = http.listen(path: "/echo")
  transform m = json.map { v: body.v; s: (body.v | string) ~ "!" }
  sink out = http.reply(headers: {"x-v": "{{ body.s }}"})
  in -> m -> out
}"""

HEAD = b"Host: fuzz\r\n"
# Requests uvicorn's parser refuses: answered 400 bad_request by our protocol.
UNPARSABLE = {
    "not a request line": b"GARBAGE\r\n\r\n",
    "unknown HTTP version": b"POST /echo HTTP/9.9\r\n\r\n",
    "header without colon": b"POST /echo HTTP/1.1\r\n" + HEAD + b"bad header\r\n\r\n",
    "unknown method": b"BREW /echo HTTP/1.1\r\n" + HEAD + b"\r\n",
    "raw 8-bit path": b"POST /\xff\xfe HTTP/1.1\r\n" + HEAD + b"Content-Length: 0\r\n\r\n",
    "NUL bytes": b"\x00\x00\x00\r\n\r\n",
    "a TLS hello on the plain port": bytes.fromhex("160301002e0100002a0303") + b"\x00" * 40,
    "obsolete header folding": b"POST /echo HTTP/1.1\r\n" + HEAD + b"X-A: a\r\n b\r\n\r\n",
    "Content-Length not a number": b"POST /echo HTTP/1.1\r\n" + HEAD + b"Content-Length: abc\r\n\r\n",
    "Content-Length negative": b"POST /echo HTTP/1.1\r\n" + HEAD + b"Content-Length: -5\r\n\r\n",
    "Content-Length superscript two": b"POST /echo HTTP/1.1\r\n" + HEAD + b"Content-Length: \xb2\r\n\r\n",
    "Content-Length of 23 digits": b"POST /echo HTTP/1.1\r\n" + HEAD + b"Content-Length: " + b"9" * 23 + b"\r\n\r\n",
    "two Content-Lengths": b"POST /echo HTTP/1.1\r\n" + HEAD + b"Content-Length: 7\r\nContent-Length: 8\r\n\r\n{\"v\":1}",
    "Content-Length short of the body": (
        b"POST /echo HTTP/1.1\r\n" + HEAD + b"Content-Length: 3\r\n\r\n{\"v\": 1}\r\n"
    ),
    "chunk size not hex": b"POST /echo HTTP/1.1\r\n" + HEAD + b"Transfer-Encoding: chunked\r\n\r\nZZ\r\nabc\r\n0\r\n\r\n",
    "chunk garbage after a chunk": b"POST /echo HTTP/1.1\r\n" + HEAD + b"Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nZZ\r\n",
    "chunked and Content-Length": (
        b"POST /echo HTTP/1.1\r\n" + HEAD + b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    ),
}
# Bodies the flow cannot read: answered 400 bad_message by the node that tried.
BAD_BODIES = {
    "not JSON": b"hello",
    "empty": b"",
    "invalid UTF-8": b'{"v": "\xff\xfe"}',
    "a lone surrogate": b'{"v": "\\ud800"}',
    "NaN": b'{"v": NaN}',
    "1e999999": b'{"v": 1e999999}',
    "10**100000 (100,001 digits)": b'{"v": 1' + b"0" * 100_000 + b"}",
    "100k nested arrays": b"[" * 100_000 + b"]" * 100_000,
    "50k nested objects": b'{"v":' * 50_000 + b"1" + b"}" * 50_000,
    "truncated": b'{"v": [1, 2',
}
# Values that would become the reply header `x-v`: refused by http.reply, 400 naming the header.
INJECTIONS = {"CR LF": "a\r\nx-evil: 1", "LF": "a\nb", "NUL": "a\x00b", "beyond Latin-1": "1 €"}


@pytest.fixture
async def logs(caplog: pytest.LogCaptureFixture) -> AsyncIterator[pytest.LogCaptureFixture]:
    """Every record of uvicorn (which does not propagate to the root) and of the engine."""
    caplog.set_level(logging.INFO)
    uvicorn_log = logging.getLogger("uvicorn")
    uvicorn_log.addHandler(caplog.handler)
    yield caplog
    uvicorn_log.removeHandler(caplog.handler)
    assert "Traceback" not in caplog.text
    for record in caplog.records:
        assert record.exc_info is None and "\n" not in record.getMessage(), record.getMessage()


@pytest.fixture
async def port(engine: Engine, http_server: httpx.AsyncClient, logs: pytest.LogCaptureFixture) -> int:
    await engine.deploy(compile_ok(ECHO))
    return http_server.base_url.port or 80


async def exchange(port: int, data: bytes) -> tuple[int, bytes]:
    """Send raw bytes; the status and body of the first answer (every answer has content-length)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        async with asyncio.timeout(10):
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            fields = dict(line.lower().split(": ", 1) for line in lines[1:] if line)
            body = await reader.readexactly(int(fields["content-length"]))
        return int(lines[0].split()[1]), body
    finally:
        writer.close()


def error_type(status: int, body: bytes) -> str:
    """The error's type, after checking the answer is a 4xx JSON error."""
    assert 400 <= status < 500, (status, body[:200])
    error = orjson.loads(body)["error"]
    assert isinstance(error["message"], str) and error["message"]
    return str(error["type"])


@pytest.mark.parametrize("data", UNPARSABLE.values(), ids=UNPARSABLE.keys())
async def test_requests_the_parser_refuses_get_a_json_400(port: int, data: bytes) -> None:
    status, body = await exchange(port, data)
    assert (status, error_type(status, body)) == (400, "bad_request")
    assert orjson.loads(body)["error"]["message"] == "the request is not valid HTTP/1.1"


async def test_an_upgrade_request_is_answered_as_plain_http(port: int, logs: pytest.LogCaptureFixture) -> None:
    request = b"GET /echo HTTP/1.1\r\n" + HEAD + b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
    request += b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    status, body = await exchange(port, request)
    assert (status, error_type(status, body)) == (405, "method_not_allowed")
    assert [r.getMessage() for r in logs.records if r.name.startswith("uvicorn")] == [
        "Unsupported upgrade request: answered as plain HTTP."
    ]


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
async def test_bodies_the_flow_cannot_read_get_a_json_400(port: int, http_server: httpx.AsyncClient,
                                                          body: bytes) -> None:  # fmt: skip
    resp = await http_server.post("/echo", content=body, headers={"content-type": "application/json"})
    assert error_type(resp.status_code, resp.content) == "bad_message"
    assert resp.json()["error"]["node"] == "m"


@pytest.mark.parametrize("value", INJECTIONS.values(), ids=INJECTIONS.keys())
async def test_reply_headers_that_cannot_be_sent_are_refused(port: int, http_server: httpx.AsyncClient,
                                                             value: str) -> None:  # fmt: skip
    resp = await http_server.post("/echo", json={"v": value})
    assert error_type(resp.status_code, resp.content) == "bad_message"
    error = resp.json()["error"]
    assert error["node"] == "out" and error["message"].startswith("reply header 'x-v' would hold ")
    assert "x-evil" not in resp.headers
    ok = await http_server.post("/echo", json={"v": "café"})
    assert (ok.status_code, dict(ok.headers.raw)[b"x-v"]) == (200, "café!".encode("latin-1"))


REQUEST_LINES = st.tuples(  # not HEAD: its answer has a content-length and no body, `exchange` would wait
    st.sampled_from([b"GET", b"POST", b"PUT", b"DELETE", b"PATCH", b"OPTIONS", b"BREW", b"", b"G\x00T"]),
    st.binary(max_size=40).map(lambda b: b"/echo" + b) | st.binary(max_size=40),
    st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2", b"HTTP/1.1 extra", b""]),
)


@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=REQUEST_LINES)
async def test_fuzzed_request_lines_get_a_json_answer(port: int, line: tuple[bytes, bytes, bytes]) -> None:
    method, target, version = line
    data = method + b" " + target + b" " + version + b"\r\n" + HEAD + b"Content-Length: 0\r\n\r\n"
    status, body = await exchange(port, data)
    assert status == 200 or (status < 500 and "error" in orjson.loads(body)), (status, body)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=30, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=JSON_VALUES, cut=st.integers(min_value=0, max_value=200), junk=st.binary(max_size=4))
async def test_fuzzed_bodies_are_answered_without_a_server_error(port: int, http_server: httpx.AsyncClient,
                                                                 doc: object, cut: int, junk: bytes) -> None:  # fmt: skip
    """Documents whole, or cut short and spliced with junk bytes: 200, or a 4xx JSON error."""
    raw = orjson.dumps({"v": doc})
    body = raw if cut >= len(raw) else raw[:cut] + junk
    resp = await http_server.post("/echo", content=body, headers={"content-type": "application/json"})
    if resp.status_code != 200:
        error_type(resp.status_code, resp.content)


def test_the_uvicorn_names_we_rely_on_are_checked_at_import() -> None:
    check(JsonErrorsProtocol)

    class Renamed(JsonErrorsProtocol):
        send_400_response = None  # type: ignore[assignment]

        def on_headers_complete(self, parser: object) -> None: ...

    with pytest.raises(ImportError) as raised:
        check(Renamed)
    assert str(raised.value) == (
        f"uvicorn {uvicorn.__version__} no longer has Renamed.send_400_response(msg), "
        "Renamed.on_headers_complete(): flowengine/endpoints/protocol.py needs updating for it"
    )


async def test_a_body_shorter_than_its_content_length_gets_408(engine: Engine, http_server: httpx.AsyncClient,
                                                               logs: pytest.LogCaptureFixture) -> None:  # fmt: skip
    await engine.deploy(compile_ok(ECHO.replace('path: "/echo"', 'path: "/echo", body_timeout: 0.3')))
    request = b"POST /echo HTTP/1.1\r\n" + HEAD + b"Content-Type: application/json\r\nContent-Length: 30\r\n\r\n{}"
    status, body = await exchange(http_server.base_url.port or 80, request)
    assert (status, error_type(status, body)) == (408, "timeout")
    assert orjson.loads(body)["error"] == {
        "type": "timeout",
        "message": "the request body did not arrive within 0.3s",
        "node": "in",
    }


@pytest.mark.parametrize("where", ["header", "url"])
async def test_a_request_head_over_the_limit_gets_431(port: int, http_server: httpx.AsyncClient, where: str) -> None:
    big = b"a" * (MAX_HEAD_BYTES + 1)
    if where == "url":
        request = b"POST /echo?" + big + b" HTTP/1.1\r\n" + HEAD + b"\r\n"
    else:
        request = b"POST /echo HTTP/1.1\r\n" + HEAD + b"X-Big: " + big + b"\r\n\r\n"
    status, body = await exchange(port, request)
    assert (status, error_type(status, body)) == (431, "too_large")
    ok = await http_server.post("/echo", json={"v": 1}, headers={"x-fits": "a" * (MAX_HEAD_BYTES // 2)})
    assert ok.status_code == 200
