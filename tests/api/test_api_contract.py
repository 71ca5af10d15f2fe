"""The management API keeps the contract its OpenAPI document states (issue 20).

First each finding of schemathesis' checks, pinned against a real server: integers
beyond the declared maximum, 405 with `Allow`, the graph's JSON body, bodies the schema
refuses. Then the run itself: `schemathesis run` with every check and every phase
(examples, coverage, fuzzing, stateful; positive and negative data) against
`flowengine serve` in a subprocess with an admin token, settings in schemathesis.toml
beside this file, derandomised; any finding fails the test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from flowengine.api.models import MAX_ID
from tests.api.conftest import HELLO, TOKENS, echo_flow, serve_process, write_tokens

BEYOND = 9806756610459647868928  # from the issue: more than 64 bits
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")
TEXT = {"content-type": "text/plain"}

PARKING = """flow hello "Parks every message: its one peer never answers" {
  source web = http.listen(path: "/park")
  sink call = http.request(url: "http://127.0.0.1:9/nowhere", timeout: 1, retry: {attempts: 1, delay: "1ms"})
  sink parked = dead_letter()
  web -> call
  on error -> parked
}
"""
"""Named `hello`, the name the schema's examples use, so they reach revisions and dead letters."""


def declared(doc: dict[str, Any], path: str, method: str, status: str, media: str) -> dict[str, Any]:
    """The schema the OpenAPI document declares for one answer, able to resolve its $refs."""
    schema = doc["paths"][path][method]["responses"][status]["content"][media]["schema"]
    return {**schema, "components": doc["components"]}


@pytest.mark.parametrize(
    ("method", "url", "parameter"),
    [
        ("GET", f"/api/flows/hello/dead-letters/{BEYOND}", "path.letter_id"),
        ("GET", f"/api/flows/hello/revisions/{BEYOND}", "path.version"),
        ("POST", f"/api/flows/hello/rollback?version={BEYOND}", "query.version"),
        ("DELETE", f"/api/flows/hello/dead-letters?id=1&id={BEYOND}", "query.id.1"),
        ("GET", f"/api/flows/hello/dead-letters?after={BEYOND}", "query.after"),
        ("POST", "/api/flows/hello/dead-letters/replay", "body.ids.0"),
    ],
)
async def test_an_integer_beyond_the_declared_maximum_is_400_naming_it(admin, method, url, parameter):
    assert (await admin.post("/api/flows", content=HELLO, headers=TEXT)).status_code == 201
    body = {"ids": [BEYOND]} if parameter.startswith("body") else None
    resp = await admin.request(method, url, json=body)
    assert resp.status_code == 400
    assert resp.json()["error"]["message"] == f"{parameter}: Input should be less than or equal to {MAX_ID}"
    at_limit = await admin.get(f"/api/flows/hello/revisions/{MAX_ID}")
    assert (
        at_limit.status_code == 404 and at_limit.json()["error"]["message"] == f"flow 'hello' has no revision {MAX_ID}"
    )


def integers(node: Any) -> list[dict[str, Any]]:
    """Every integer schema inside `node`."""
    if isinstance(node, dict):
        own = [node] if node.get("type") == "integer" else []
        return own + [found for value in node.values() for found in integers(value)]
    if isinstance(node, list):
        return [found for value in node for found in integers(value)]
    return []


async def test_every_integer_the_api_takes_is_bounded_to_64_bits(admin):
    doc = (await admin.get("/openapi.json")).json()
    parameters = [op.get("parameters", []) for item in doc["paths"].values() for op in item.values()]
    taken = integers(parameters) + integers(doc["components"]["schemas"]["ReplayRequest"])
    assert len(taken) == 7 and all(0 < schema["maximum"] < 2**63 for schema in taken), taken


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/healthz", "GET"),
        ("POST", "/readyz", "GET"),
        ("DELETE", "/metrics", "GET"),
        ("HEAD", "/metrics", "GET"),
        ("OPTIONS", "/api/flows/hello/dead-letters/replay", "POST"),
        ("GET", "/api/flows/hello/dead-letters/replay", "POST"),
        ("PATCH", "/api/flows/hello", "GET, PUT, DELETE"),
    ],
)
async def test_a_method_the_path_does_not_serve_is_405_with_allow(admin, method, path, allow):
    resp = await admin.request(method, path)
    assert (resp.status_code, resp.headers.get("allow")) == (405, allow)


async def test_graph_json_matches_its_declared_schema(admin):
    assert (await admin.post("/api/flows", content=HELLO, headers=TEXT)).status_code == 201
    doc = (await admin.get("/openapi.json")).json()
    graph = await admin.get("/api/flows/hello/graph?format=json")
    assert graph.headers["content-type"] == "application/json"
    schema = declared(doc, "/api/flows/{name}/graph", "get", "200", "application/json")
    jsonschema.validate(graph.json(), schema)
    assert schema["$ref"] == "#/components/schemas/GraphModel"
    assert [n["name"] for n in graph.json()["nodes"]] == ["greet", "text", "answer"]


@pytest.mark.parametrize(
    ("path", "content", "headers", "message"),
    [
        ("/api/lint", b"", {}, "the request has no body; send the flow text as text/plain or JSON"),
        ("/api/flows", b"", TEXT, "the request has no body; send the flow text as text/plain or JSON"),
        ("/api/flows", b'{"source": ""}', {}, "source: String should have at least 1 character"),
        ("/api/flows", '{"source": "x", "name": "\U0001f600"}'.encode(), {}, "name: String should match pattern"),
        ("/api/flows", b'{"source": "x", "file": "\\udc80"}', {}, "body is not valid JSON"),
        ("/api/flows/hello/dead-letters/replay", b'{"ids": [true]}', {}, "body.ids.0: Input should be a valid integer"),
        ("/api/flows/hello/dead-letters/replay", b'{"ids": ["1"]}', {}, "body.ids.0: Input should be a valid integer"),
    ],
)
async def test_bodies_the_schema_refuses_are_400(admin, path, content, headers, message):
    headers = headers or {"content-type": "application/json"}
    resp = await admin.post(path, content=content, headers=headers)
    assert resp.status_code == 400 and message in resp.json()["error"]["message"]


async def test_the_schema_says_which_bodies_it_refuses_and_takes_non_bmp_names(admin):
    doc = (await admin.get("/openapi.json")).json()
    for path, method in (("/api/flows", "post"), ("/api/flows/{name}", "put"), ("/api/lint", "post")):
        body = doc["paths"][path][method]["requestBody"]
        assert body["required"] and body["content"]["text/plain"]["schema"]["minLength"] == 1
        fields = body["content"]["application/json"]["schema"]["properties"]
        assert fields["source"]["minLength"] == 1 and fields["source"]["pattern"] == r"^[^\ud800-\udfff]*$"
        assert fields["name"]["anyOf"][0]["pattern"] == "^[A-Za-z_][A-Za-z0-9_]*$"
        assert fields["file"]["pattern"] == r"^[^\ud800-\udfff]*$"
    taken = await admin.post("/api/flows?dry_run=true", json={"source": HELLO, "file": "\U0001f600.flow"})
    assert taken.status_code == 200 and taken.json()["file"] == "\U0001f600.flow"


def _seed(url: str) -> None:
    """Flows for the generated requests to find: `hello` with two revisions and two dead letters."""
    admin = httpx.Client(base_url=url, headers={"authorization": f"Bearer {TOKENS['admin']}"}, timeout=30)
    with admin:
        assert admin.post("/api/flows", content=PARKING, headers=TEXT).status_code == 201
        assert (
            admin.put("/api/flows/hello", content=PARKING.replace("answers", "answers (v2)"), headers=TEXT).status_code
            == 200
        )
        assert admin.post("/api/flows", content=echo_flow("1"), headers=TEXT).status_code == 201
        for i in range(2):
            assert admin.post("/park", json={"n": i}).status_code == 502  # parked


def test_schemathesis_finds_nothing_with_every_check_and_phase(tmp_path):
    report = tmp_path / "report.json"
    with serve_process(tmp_path, "--tokens", str(write_tokens(tmp_path)), "--log-level", "error") as (_, url):
        _seed(url)
        run = subprocess.run(
            [
                str(SCHEMATHESIS), "--config-file", str(CONFIG), "run", f"{url}/openapi.json",
                "--header", f"Authorization: Bearer {TOKENS['admin']}", "--checks", "all", "--no-color",
                "--report", "json", "--report-dir", str(tmp_path), "--report-json-path", str(report),
            ],
            cwd=tmp_path, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    figures = json.loads(report.read_text())
    cases, phases = figures["test_cases"], figures["phases"]
    print(
        f"schemathesis {figures['schemathesis_version']}: {figures['operations']['tested']} operations, "
        f"{cases['generated']} test cases, {cases['unique_failures']} findings, {figures['running_time']:.1f} s"
    )
    assert figures["operations"]["tested"] == figures["operations"]["total"] == 21
    assert {name: phase["status"] for name, phase in phases.items()} == dict.fromkeys(
        ("examples", "coverage", "fuzzing", "stateful"), "success"
    )
    assert cases["unique_failures"] == 0 and figures["errors"] == [] and cases["generated"] > 1000
