"""The /ui routes over HTTP: empty frames for anyone, the drawing only with a token,
strict headers, and nothing of them in the API's OpenAPI schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from lxml import etree, html

from tests.api.conftest import HELLO, TOKENS, ApiServer


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ApiServer]:
    api = await ApiServer(tmp_path / "state.db").start()
    async with api.client("deployer") as client:
        assert (
            await client.post("/api/flows", content=HELLO, headers={"content-type": "text/plain"})
        ).status_code == 201
    yield api
    await api.stop()


async def test_the_flow_page_is_a_frame_without_data(server: ApiServer):
    async with server.client(None) as anyone:
        answer = await anyone.get("/ui/flows/hello")
    assert answer.status_code == 200 and answer.headers["content-type"] == "text/html; charset=utf-8"
    assert "script-src 'self';" in answer.headers["content-security-policy"]
    assert answer.headers["referrer-policy"] == "no-referrer" and answer.headers["cache-control"] == "no-store"
    doc = html.fromstring(answer.text)
    assert doc.xpath("//body/@data-flow") == ["hello"] and doc.xpath("//body/@data-page") == ["flow"]
    assert doc.xpath("//script/@src") == ["/ui/assets/flowgraph.js", "/ui/assets/live.js"]
    assert doc.xpath("//script[not(@src)]") == [] and doc.xpath("//@style") == []  # nothing inline: the CSP forbids it
    assert "http.listen" not in answer.text and "greet" not in answer.text


async def test_the_drawing_needs_a_viewer_token(server: ApiServer):
    async with server.client(None) as anyone, server.client("viewer") as viewer:
        refused = await anyone.get("/ui/flows/hello/drawing")
        drawn = await viewer.get("/ui/flows/hello/drawing")
        missing = await viewer.get("/ui/flows/nope/drawing")
    assert refused.status_code == 401 and refused.json()["error"]["type"] == "unauthorized"
    assert drawn.status_code == 200 and drawn.headers["content-type"] == "image/svg+xml"
    svg = etree.fromstring(drawn.content)
    names = svg.xpath("//svg:g[contains(@class, 'node')]/@data-name", namespaces={"svg": "http://www.w3.org/2000/svg"})
    assert names == ["greet", "text", "answer"]
    assert len(svg.xpath("//*[@class='counts']")) == 3
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "no flow named 'nope' is deployed"


async def test_assets_index_and_redirect(server: ApiServer):
    async with server.client(None) as anyone:
        script = await anyone.get("/ui/assets/live.js")
        unknown = await anyone.get("/ui/assets/../app.py")
        index = await anyone.get("/ui/flows")
        home = await anyone.get("/ui")
        schema = (await anyone.get("/openapi.json")).json()
    assert script.status_code == 200 and script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "sessionStorage" in script.text and unknown.status_code == 404
    assert html.fromstring(index.text).xpath("//body/@data-page") == ["index"]
    assert home.status_code == 307 and home.headers["location"] == "/ui/flows"
    assert not [p for p in schema["paths"] if p.startswith("/ui")]


async def test_a_bad_flow_name_is_refused(server: ApiServer):
    async with httpx.AsyncClient(base_url=server.url) as client:
        answer = await client.get("/ui/flows/no-such name", headers={"authorization": f"Bearer {TOKENS['viewer']}"})
    assert answer.status_code == 400
