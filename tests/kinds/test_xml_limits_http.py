"""XML limits in a running engine: hostile XML over real HTTP is refused with a reason, and the
engine goes on answering (issue 19: 100,000 attributes or 200,000 siblings took it down)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from flowengine.formats import xmllimits
from flowengine.runtime.engine import Engine
from tests.conftest import codes, compile_ok

FLOW = """
flow xmlin {
  source web = http.listen(path: "/xml", max_body_bytes: 4000000)
  transform read = xml.to_json()
  sink out = http.reply()
  web -> read -> out
}"""

JSON_FLOW = """
flow jsonin {
  source web = http.listen(path: "/json", max_body_bytes: 4000000)
  transform write = xml.from_json(root: "r")
  sink out = http.reply()
  web -> write -> out
}"""

GOOD = b'<order id="7"><line>a</line><line>b</line></order>'


async def answered_after(client: httpx.AsyncClient, hostile: bytes, path: str = "/xml") -> httpx.Response:
    """Send the hostile body, then check a good one is still answered; return the hostile answer."""
    resp = await client.post(path, content=hostile, headers={"content-type": "application/xml"})
    good = await client.post("/xml", content=GOOD, headers={"content-type": "application/xml"})
    assert good.status_code == 200
    assert good.json() == {"order": {"@id": "7", "line": ["a", "b"]}}
    return resp


@pytest.mark.parametrize(
    ("hostile", "message"),
    [
        (
            b"<a " + b" ".join(b'a%d="1"' % i for i in range(100_000)) + b"/>",
            "XML refused: line 1: <a> has more than 1000 attributes (limit FLOWENGINE_XML_MAX_ATTRIBUTES)",
        ),
        (
            b"<r>" + b"<b/>" * 200_000 + b"</r>",
            "XML refused: line 1: an element has more than 10000 children (limit FLOWENGINE_XML_MAX_CHILDREN)",
        ),
        (
            b"<a>" * 5_000 + b"</a>" * 5_000,
            "XML refused: line 1: elements nest more than 100 deep (limit FLOWENGINE_XML_MAX_DEPTH)",
        ),
    ],
)
async def test_hostile_shapes_get_422_and_the_engine_keeps_serving(
    engine: Engine, http_server: httpx.AsyncClient, hostile: bytes, message: str
) -> None:
    await engine.deploy(compile_ok(FLOW))
    resp = await answered_after(http_server, hostile)
    assert resp.status_code == 422
    assert resp.json() == {"error": {"type": "too_complex", "node": "read", "message": message}}


async def test_too_many_elements_gets_413(engine: Engine, http_server: httpx.AsyncClient) -> None:
    await engine.deploy(compile_ok(FLOW))
    hostile = b"<r>" + (b"<p>" + b"<b/>" * 9_999 + b"</p>") * 11 + b"</r>"
    resp = await answered_after(http_server, hostile)
    assert resp.status_code == 413
    assert resp.json()["error"] == {
        "type": "too_large",
        "node": "read",
        "message": "XML refused: line 1: more than 100000 elements (limit FLOWENGINE_XML_MAX_ELEMENTS)",
    }


async def test_xml_from_json_output_is_bounded(engine: Engine, http_server: httpx.AsyncClient) -> None:
    await engine.deploy(compile_ok(FLOW))
    await engine.deploy(compile_ok(JSON_FLOW))
    resp = await http_server.post("/json", json={"b": [""] * 200_000})
    assert resp.status_code == 422
    assert resp.json()["error"]["message"] == (
        "XML refused: /r/b/10000: an element has more than 10000 children (limit FLOWENGINE_XML_MAX_CHILDREN)"
    )
    assert (await answered_after(http_server, GOOD)).status_code == 200


@pytest.fixture
def bad_limit(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("FLOWENGINE_XML_MAX_DEPTH", "deep")
    xmllimits.configured.cache_clear()
    yield
    monkeypatch.undo()
    xmllimits.configured.cache_clear()


@pytest.mark.usefixtures("bad_limit")
def test_a_bad_limit_in_the_environment_fails_the_flow_at_load() -> None:
    assert codes(FLOW) == ["E103"]
