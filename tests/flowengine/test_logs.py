"""Structured logs: one JSON object per line with the engine's fields; bodies stay out."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from connectors.memory import hub_of
from flowengine.core.message import Message
from flowengine.observe.logs import LIBRARIES, JsonFormatter, TextFormatter, configure
from tests.conftest import compile_ok

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def test_json_lines_for_message_outcomes_and_failures(engine):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("flowengine.runtime")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        flow = compile_ok("flow j {\n  source in = memory.in()\n  transform m = json.map { x: body.secret }\n  sink out = memory.out()\n  in -> m -> out\n}")
        await engine.deploy(flow)
        hub = hub_of(engine.services)
        await hub.send("in", Message(b'{"secret": "do-not-log"}', id="m1", traceparent=TRACE))
        await hub.send("in", Message(b"not json", id="m2"))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    done = [d for d in lines if d.get("outcome") == "delivered"]
    assert done and done[0]["message_id"] == "m1" and done[0]["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert done[0]["flow"] == "j" and done[0]["revision"] == flow.revision and done[0]["duration_ms"] >= 0
    (failure,) = [d for d in lines if d["level"] == "warning"]
    assert (failure["node"], failure["message_id"], failure["error_type"], failure["outcome"]) == ("m", "m2", "bad_message", "failed")
    assert "do-not-log" not in stream.getvalue()


def test_text_format_appends_fields():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    record.flow, record.message_id = "f", "m1"
    assert TextFormatter().format(record).endswith("INFO x: hello [message_id=m1]")


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure() changes the root logger and the libraries' levels: put them back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:], root.level = handlers, level
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(logging.NOTSET)


@pytest.mark.usefixtures("restored_logging")
async def test_http_request_calls_are_not_logged_by_httpx_unless_debug(engine, upstream, capsys):
    _, base = upstream
    flow = compile_ok(f'flow call {{\n  source in = memory.in()\n  sink out = http.request(url: "{base}/x", timeout: 5)\n'
                      "  in -> out\n}")
    await engine.deploy(flow)
    hub = hub_of(engine.services)
    for level in ("info", "debug"):
        configure(level)  # writes to sys.stderr as it is now: capsys's
        assert (await hub.send("in", Message(b"{}"))).ok
        said = capsys.readouterr().err
        assert ("httpx: HTTP Request: POST" in said) == (level == "debug"), said
