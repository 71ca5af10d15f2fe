"""The flows' plain ASGI application, called in-process: routing, answers, lifespan, disconnects."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from starlette.responses import Response

from flowengine.endpoints.app import FlowEndpoints
from flowengine.endpoints.asgi import Answer, answer
from flowengine.endpoints.routes import HttpRoutes
from flowengine.runtime.engine import Engine
from tests.conftest import compile_ok

ECHO = """
flow echo {
  source in = http.listen(path: "/echo/{name}", max_body_bytes: 10)
  transform out = json.map { name: attributes["http.params"].name; q: attributes["http.query"]; h: headers.x }
  sink reply = http.reply(headers: {"X-Id": "{{ body.name }}"})
  in -> out -> reply
}"""


async def call(app: Any, method: str, path: str, body: bytes = b"", *, query: bytes = b"",
               events: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Send one request to `app`; the events it sent back."""
    incoming = events or [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0)

    async def send(event: dict[str, Any]) -> None:
        sent.append(event)

    scope = {"type": "http", "method": method, "path": path, "query_string": query,
             "headers": [(b"content-type", b"application/json"), (b"X", b"1"), (b"x", b"2")]}  # fmt: skip
    await app(scope, receive, send)
    return sent


@pytest.fixture
async def echo(engine: Engine) -> FlowEndpoints:
    await engine.deploy(compile_ok(ECHO))
    assert isinstance(engine.app, FlowEndpoints)
    return engine.app


async def test_a_flow_answers_with_params_query_and_last_of_repeated_headers(echo):
    start, body = await call(echo, "POST", "/echo/ada", b"{}", query=b"q=1&q=2&e=")
    assert start["status"] == 200
    assert dict(start["headers"])[b"x-id"] == b"ada"
    assert orjson.loads(body["body"]) == {"name": "ada", "q": {"q": "2", "e": ""}, "h": "2"}


async def test_a_body_in_chunks_is_joined_and_over_the_limit_is_413(echo):
    chunks = [{"type": "http.request", "body": b'{"a"', "more_body": True},
              {"type": "http.request", "body": b":1}", "more_body": False}]  # fmt: skip
    assert (await call(echo, "POST", "/echo/x", events=chunks))[0]["status"] == 200
    start, body = await call(echo, "POST", "/echo/x", b"[" + b" " * 20 + b"]")
    assert start["status"] == 413 and orjson.loads(body["body"])["error"]["node"] == "in"


async def test_a_client_that_left_gets_nothing_sent(echo):
    gone = [{"type": "http.request", "body": b"{", "more_body": True}, {"type": "http.disconnect"}]
    assert await call(echo, "POST", "/echo/x", events=gone) == []


async def test_unknown_path_404_other_method_405_with_allow(echo):
    start, body = await call(echo, "GET", "/echo/x")
    assert (start["status"], dict(start["headers"])[b"allow"]) == (405, b"POST")
    assert orjson.loads(body["body"])["error"]["type"] == "method_not_allowed"
    start, body = await call(echo, "POST", "/nowhere")
    assert start["status"] == 404 and orjson.loads(body["body"])["error"]["message"] == "no flow serves /nowhere"


async def test_a_failing_handler_answers_500_json():
    routes = HttpRoutes()

    async def broken(scope: Any, receive: Any, params: dict[str, Any]) -> Answer:
        raise RuntimeError("bug")

    routes.add("POST", "/b", broken, owner="f")
    start, body = await call(FlowEndpoints(routes), "POST", "/b")
    assert start["status"] == 500 and orjson.loads(body["body"])["error"]["type"] == "internal"


async def test_lifespan_is_acknowledged():
    events = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return events.pop(0)

    async def send(event: dict[str, Any]) -> None:
        sent.append(event)

    await FlowEndpoints(HttpRoutes())({"type": "lifespan"}, receive, send)
    assert [e["type"] for e in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


@pytest.mark.parametrize("status", [200, 201, 204, 304, 101])
@pytest.mark.parametrize("content_type", [None, "application/xml", "text/plain", "text/csv; Charset=latin-1"])
@pytest.mark.parametrize("headers", [None, {"X-A": "1"}, {"Content-Type": "text/html"}, {"content-length": "0"}])
def test_answer_headers_are_starlettes(status, content_type, headers):
    ours = answer(b"<x/>", status, content_type, headers)
    theirs = Response(b"<x/>", status_code=status, media_type=content_type, headers=headers)
    assert ours.headers == theirs.raw_headers
