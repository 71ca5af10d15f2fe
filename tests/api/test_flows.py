"""Every /api/flows endpoint over real HTTP, with each success and error status it documents."""

from __future__ import annotations

import json

import httpx
import pytest

from flowengine.api.deployments import content_hash
from tests.api.conftest import HELLO, ApiServer, echo_flow

TEXT = {"content-type": "text/plain"}
BROKEN = 'flow broken {\n  source in = http.listen(path: "/b")\n  sink out = memory.ot()\n  in -> out\n}\n'


async def deploy(client: httpx.AsyncClient, text: str, **params: str) -> httpx.Response:
    return await client.post("/api/flows", content=text, headers=TEXT, params=params)


# --- deploy -------------------------------------------------------------------------------
async def test_deploy_text_answers_201_with_name_version_nodes_edges(api, admin):
    resp = await deploy(admin, echo_flow("1"))
    assert resp.status_code == 201
    body = resp.json()
    assert (body["name"], body["version"], body["status"], body["changed"], body["dry_run"]) == (
        "echo",
        1,
        "started",
        True,
        False,
    )
    assert body["hash"] == content_hash(echo_flow("1")) and resp.headers["etag"] == f'"{body["hash"]}"'
    assert [n["name"] for n in body["nodes"]] == ["web", "tag", "answer", "copy"]
    assert {"from": "web", "to": "tag", "kind": "next", "condition": None} in body["edges"]
    assert body["nodes"][0]["options"] == {"path": "/echo"}
    echoed = await admin.post("/echo", json={"i": 1})
    assert echoed.json() == {"i": 1, "version": "1"}


async def test_deploy_json_with_name_and_file(admin):
    resp = await admin.post("/api/flows", json={"name": "hello", "source": HELLO, "file": "flows/hello.flow"})
    assert resp.status_code == 201
    assert (await admin.get("/api/flows/hello")).json()["file"] == "flows/hello.flow"
    assert (await admin.post("/hello", json={"name": "CI"})).text == "Hello, CI!\n"


async def test_invalid_flow_answers_422_with_the_lint_json_diagnostics(admin):
    resp = await admin.post("/api/flows", json={"source": BROKEN, "file": "broken.flow"})
    assert resp.status_code == 422
    assert resp.json() == {
        "error": {
            "type": "invalid_flow",
            "message": "broken.flow:3:14: E101 unknown node kind 'memory.ot'; did you mean 'memory.out'?",
        },
        "files": ["broken.flow"],
        "errors": 1,
        "warnings": 0,
        "diagnostics": [
            {
                "file": "broken.flow",
                "line": 3,
                "col": 14,
                "end_line": 3,
                "end_col": 23,
                "code": "E101",
                "severity": "error",
                "message": "unknown node kind 'memory.ot'; did you mean 'memory.out'?",
            }
        ],
    }
    assert (await admin.get("/api/flows/broken")).status_code == 404


async def test_lint_endpoint_and_422_agree_with_flowengine_lint(admin, tmp_path):
    from flowengine.lint.linter import lint_paths

    path = tmp_path / "broken.flow"
    path.write_text(BROKEN)
    expected = lint_paths([path]).to_json()
    linted = await admin.post("/api/lint", json={"source": BROKEN, "file": str(path)})
    assert linted.status_code == 200 and linted.json() == expected
    refused = await admin.post("/api/flows", json={"source": BROKEN, "file": str(path)})
    assert refused.json()["diagnostics"] == expected["diagnostics"]


async def test_lint_of_a_good_flow(admin):
    resp = await admin.post("/api/lint", content=HELLO, headers=TEXT)
    assert resp.json() == {"files": ["<request>"], "errors": 0, "warnings": 0, "diagnostics": []}
    assert (await admin.get("/api/flows")).json() == {"flows": []}  # lint starts nothing


async def test_two_flows_in_one_request_are_refused(admin):
    resp = await deploy(admin, HELLO + echo_flow("1"))
    assert resp.status_code == 422
    assert resp.json()["error"]["message"] == "the text declares 2 flows (hello, echo); deploy one flow per request"


async def test_deploying_an_existing_flow_is_409(admin):
    await deploy(admin, HELLO)
    resp = await deploy(admin, HELLO)
    assert resp.status_code == 409
    assert resp.json()["error"]["message"] == (
        "flow 'hello' is already deployed (version 1); update it with PUT /api/flows/hello"
    )


async def test_dry_run_compiles_but_starts_and_stores_nothing(admin):
    resp = await deploy(admin, HELLO, dry_run="true")
    assert resp.status_code == 200
    body = resp.json()
    assert body["dry_run"] and body["version"] == 1 and body["nodes"][0]["counters"] is None
    assert (await admin.get("/api/flows/hello")).status_code == 404
    assert (await admin.post("/hello", json={})).status_code == 404
    assert (await deploy(admin, BROKEN, dry_run="true")).status_code == 422


@pytest.mark.parametrize(
    ("kwargs", "status", "message"),
    [
        (
            {"json": {"name": "other", "source": HELLO}},
            400,
            "the source declares flow 'hello', but the body's 'name' says 'other'",
        ),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400, "body is not valid JSON"),
        ({"json": {"name": "hello"}}, 400, 'expected {"source": "...", "name"?, "file"?}: source: Field required'),
        ({"json": {"source": HELLO, "owner": "x"}}, 400, "owner: Extra inputs are not permitted"),
        ({"json": ["a list"]}, 400, "expected {"),
        ({"content": b"\xff\xfe", "headers": TEXT}, 422, "<request>:1:1: E005 not UTF-8 at byte 0 (0xff)"),
        ({"content": b"<flow/>", "headers": {"content-type": "application/xml"}}, 415, "not application/xml"),
    ],
)
async def test_malformed_deploy_requests(admin, kwargs, status, message):
    resp = await admin.post("/api/flows", **kwargs)
    assert resp.status_code == status
    assert message in resp.json()["error"]["message"]


async def test_lint_endpoint_answers_text_that_is_not_utf8_with_e005(admin):
    resp = await admin.post("/api/lint", content=b"flow f {\n  # caf\xe9\n}\n", headers=TEXT)
    assert resp.status_code == 422
    (d,) = resp.json()["diagnostics"]
    assert (d["code"], d["line"], d["col"], d["message"]) == ("E005", 2, 8, "not UTF-8 at byte 16 (0xe9)")


async def test_lint_endpoint_answers_deep_nesting_with_e004(admin):
    resp = await admin.post("/api/lint", content="flow f { source a = memory.in(x: " + "[" * 5000 + ") }", headers=TEXT)
    assert resp.status_code == 200
    assert [(d["code"], d["col"]) for d in resp.json()["diagnostics"]] == [("E004", 64)]


async def test_put_url_name_must_match_the_source(admin):
    resp = await admin.put("/api/flows/other", content=HELLO, headers=TEXT)
    assert resp.status_code == 400
    assert resp.json()["error"] == {
        "type": "bad_request",
        "message": "the source declares flow 'hello', but the URL says 'other'",
    }


async def test_body_and_source_limits_answer_413(tmp_path):
    server = await ApiServer(tmp_path / "s.db", max_body_bytes=2048, max_source_bytes=1024).start()
    try:
        async with server.client() as client:
            big = await client.post("/api/flows", content=b"x" * 4096, headers=TEXT)
            assert (
                big.status_code == 413
                and big.json()["error"]["message"] == "request body is over the limit of 2048 bytes"
            )

            async def chunks():  # no content-length: the limit holds while reading
                for _ in range(8):
                    yield b"y" * 512

            chunked = await client.post("/api/flows", content=chunks(), headers=TEXT)
            assert chunked.status_code == 413
            source = await client.post("/api/flows", content=HELLO + "#" * 1024, headers=TEXT)
            assert source.status_code == 413 and source.json()["error"]["message"].startswith("flow source is 1")
            assert (await client.post("/api/lint", content=HELLO + "#" * 1024, headers=TEXT)).status_code == 413
    finally:
        await server.stop()


# --- reading ------------------------------------------------------------------------------
async def test_list_and_detail_with_live_counters(admin):
    await deploy(admin, echo_flow("1"))
    await deploy(admin, HELLO)
    for i in range(3):
        await admin.post("/echo", json={"i": i})
    await admin.post("/echo", content=b"not json", headers={"content-type": "application/json"})
    listed = (await admin.get("/api/flows")).json()["flows"]
    assert [(f["name"], f["version"], f["status"], f["in_flight"]) for f in listed] == [
        ("echo", 1, "started", 0),
        ("hello", 1, "started", 0),
    ]
    resp = await admin.get("/api/flows/echo")
    assert resp.headers["etag"] == f'"{content_hash(echo_flow("1"))}"'
    detail = resp.json()
    assert detail["source"] == echo_flow("1") and detail["description"] == "Echo, tagged"
    counters = {n["name"]: n["counters"] for n in detail["nodes"]}
    assert counters["web"] == {
        "received": 4,
        "sent": 3,
        "errors": 0,
        "dropped": 0,
        "in_flight": None,
        "last_error": None,
        "connected": True,
    }
    assert counters["tag"]["errors"] == 1 and counters["tag"]["in_flight"] == 0
    assert counters["tag"]["last_error"].startswith("bad_message: ")
    assert counters["copy"]["received"] == 3


@pytest.mark.parametrize("path", ["/api/flows/nope", "/api/flows/nope/graph", "/api/flows/nope/revisions"])
async def test_unknown_flow_is_404(admin, path):
    resp = await admin.get(path)
    assert resp.status_code == 404
    assert resp.json() == {"error": {"type": "not_found", "message": "no flow named 'nope' is deployed"}}


async def test_a_name_the_language_cannot_spell_is_400(admin):
    resp = await admin.get("/api/flows/no-such")
    assert resp.status_code == 400 and resp.json()["error"]["type"] == "bad_request"


async def test_unknown_api_path_is_404_and_wrong_method_405(admin):
    assert (await admin.get("/api/nothing")).json()["error"]["message"] == "no API endpoint /api/nothing"
    resp = await admin.patch("/api/flows")
    assert resp.status_code == 405 and resp.headers["allow"] == "GET, POST"


@pytest.mark.parametrize(
    ("fmt", "media", "start"),
    [
        ("dot", "text/vnd.graphviz", 'digraph "hello" {'),
        ("mermaid", "text/plain", "flowchart LR"),
        ("json", "application/json", "{"),
    ],
)
async def test_graph_formats(admin, fmt, media, start):
    await deploy(admin, HELLO)
    resp = await admin.get("/api/flows/hello/graph", params={"format": fmt})
    assert resp.status_code == 200 and resp.headers["content-type"].startswith(media)
    assert resp.text.startswith(start)


async def test_graph_format_must_be_known(admin):
    await deploy(admin, HELLO)
    resp = await admin.get("/api/flows/hello/graph", params={"format": "svg"})
    assert resp.status_code == 400 and "format" in resp.json()["error"]["message"]


# --- updates, ETags, rollback -------------------------------------------------------------
async def test_put_updates_keeps_history_and_honours_if_match(admin):
    v1 = await admin.put("/api/flows/echo", content=echo_flow("1"), headers=TEXT)
    assert v1.status_code == 201
    etag1 = v1.headers["etag"]
    v2 = await admin.put("/api/flows/echo", content=echo_flow("2"), headers={**TEXT, "if-match": etag1})
    assert v2.status_code == 200 and v2.json()["version"] == 2 and v2.json()["changed"]
    assert (await admin.post("/echo", json={})).json()["version"] == "2"
    stale = await admin.put("/api/flows/echo", content=echo_flow("3"), headers={**TEXT, "if-match": etag1})
    assert stale.status_code == 412
    assert stale.json()["error"]["message"] == (
        f"If-Match does not match flow 'echo': the current revision is {v2.headers['etag']}"
    )
    assert (await admin.get("/api/flows/echo")).json()["version"] == 2
    weak = await admin.put(
        "/api/flows/echo", content=echo_flow("3"), headers={**TEXT, "if-match": f"W/{v2.headers['etag']}"}
    )
    assert weak.status_code == 412  # If-Match compares strongly
    listed = await admin.put(
        "/api/flows/echo", content=echo_flow("3"), headers={**TEXT, "if-match": f'"x", {v2.headers["etag"]}'}
    )
    assert listed.json()["version"] == 3
    star = await admin.put("/api/flows/echo", content=echo_flow("4"), headers={**TEXT, "if-match": "*"})
    assert star.json()["version"] == 4
    missing = await admin.put("/api/flows/hello", content=HELLO, headers={**TEXT, "if-match": "*"})
    assert missing.status_code == 412 and missing.json()["error"]["message"].endswith("the flow does not exist")


async def test_put_of_the_same_source_changes_nothing(admin):
    await deploy(admin, HELLO)
    again = await admin.put("/api/flows/hello", content=HELLO, headers=TEXT)
    assert again.status_code == 200 and again.json()["changed"] is False and again.json()["version"] == 1
    assert len((await admin.get("/api/flows/hello/revisions")).json()["revisions"]) == 1


async def test_put_dry_run_and_invalid_update_leave_the_running_version(admin):
    await deploy(admin, echo_flow("1"))
    dry = await admin.put("/api/flows/echo", content=echo_flow("2"), headers=TEXT, params={"dry_run": "true"})
    assert dry.status_code == 200 and dry.json()["dry_run"] and dry.json()["version"] == 2
    bad = await admin.put("/api/flows/echo", content=echo_flow("2").replace("json.map", "json.mop"), headers=TEXT)
    assert bad.status_code == 422 and bad.json()["diagnostics"][0]["code"] == "E101"
    assert (await admin.post("/echo", json={})).json()["version"] == "1"
    assert (await admin.get("/api/flows/echo")).json()["version"] == 1


async def test_update_that_cannot_start_keeps_the_previous_version(admin):
    await deploy(admin, echo_flow("1"))
    await deploy(admin, HELLO)
    taken = echo_flow("2", path="/hello")  # another flow serves /hello
    resp = await admin.put("/api/flows/echo", content=taken, headers=TEXT)
    assert resp.status_code == 409
    assert resp.json()["error"]["message"] == "POST /hello is already served by flow 'hello'"
    assert (await admin.get("/api/flows/echo")).json()["version"] == 1
    assert (await admin.post("/echo", json={})).json()["version"] == "1"
    assert (await admin.post("/hello", json={"name": "x"})).text == "Hello, x!\n"


async def test_rollback_walks_back_through_revisions(admin):
    for tag in "123":
        await admin.put("/api/flows/echo", content=echo_flow(tag), headers=TEXT)
    back = await admin.post("/api/flows/echo/rollback")
    assert back.status_code == 200 and back.json()["version"] == 4
    assert (await admin.post("/echo", json={})).json()["version"] == "2"
    back = await admin.post("/api/flows/echo/rollback")
    assert (await admin.post("/echo", json={})).json()["version"] == "1"
    none_left = await admin.post("/api/flows/echo/rollback")
    assert none_left.status_code == 409
    assert none_left.json()["error"]["message"] == "flow 'echo' has no earlier revision to roll back to"
    to_three = await admin.post("/api/flows/echo/rollback", params={"version": 3})
    assert to_three.json()["version"] == 6 and (await admin.post("/echo", json={})).json()["version"] == "3"
    revisions = (await admin.get("/api/flows/echo/revisions")).json()["revisions"]
    assert [(r["version"], r["reason"], r["previous"], r["current"]) for r in revisions] == [
        (1, "deploy", None, False),
        (2, "update", 1, False),
        (3, "update", 2, False),
        (4, "rollback to v2", 1, False),
        (5, "rollback to v1", None, False),
        (6, "rollback to v3", 2, True),
    ]
    assert revisions[3]["hash"] == revisions[1]["hash"]


async def test_rollback_errors(admin):
    await deploy(admin, echo_flow("1"))
    v2 = await admin.put("/api/flows/echo", content=echo_flow("2"), headers=TEXT)
    assert (await admin.post("/api/flows/echo/rollback", params={"version": 9})).status_code == 404
    current = await admin.post("/api/flows/echo/rollback", params={"version": 2})
    assert (
        current.status_code == 409
        and current.json()["error"]["message"] == "revision 2 of flow 'echo' is already current"
    )
    stale = await admin.post("/api/flows/echo/rollback", headers={"if-match": '"0000"'})
    assert stale.status_code == 412
    ok = await admin.post("/api/flows/echo/rollback", headers={"if-match": v2.headers["etag"]})
    assert ok.status_code == 200 and ok.headers["etag"] == f'"{content_hash(echo_flow("1"))}"'
    assert (await admin.post("/api/flows/nope/rollback")).status_code == 404
    assert (await admin.post("/api/flows/echo/rollback", params={"version": 0})).status_code == 400


async def test_revision_with_source(admin):
    await deploy(admin, echo_flow("1"))
    await admin.put("/api/flows/echo", content=echo_flow("2"), headers=TEXT)
    one = (await admin.get("/api/flows/echo/revisions/1")).json()
    assert one["source"] == echo_flow("1") and one["current"] is False
    missing = await admin.get("/api/flows/echo/revisions/7")
    assert missing.status_code == 404 and missing.json()["error"]["message"] == "flow 'echo' has no revision 7"


# --- running state ------------------------------------------------------------------------
async def test_stop_start_pause_resume(admin):
    await deploy(admin, echo_flow("1"))
    stopped = await admin.post("/api/flows/echo/stop")
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    assert (await admin.post("/echo", json={})).status_code == 404
    assert (await admin.post("/api/flows/echo/stop")).json()["status"] == "stopped"  # idempotent
    for action in ("pause", "resume"):
        refused = await admin.post(f"/api/flows/echo/{action}")
        assert refused.status_code == 409
        assert refused.json()["error"]["message"] == "flow 'echo' is stopped; start it with POST /api/flows/echo/start"
    assert (await admin.post("/api/flows/echo/start")).json()["status"] == "started"
    assert (await admin.post("/echo", json={})).status_code == 200
    assert (await admin.post("/api/flows/echo/pause")).json()["status"] == "paused"
    assert (await admin.post("/echo", json={})).status_code == 503  # not consuming: come back later
    assert (await admin.post("/api/flows/echo/resume")).json()["status"] == "started"
    assert (await admin.post("/echo", json={})).json()["version"] == "1"
    assert (await admin.post("/api/flows/nope/stop")).status_code == 404


async def test_update_of_a_stopped_or_paused_flow_runs_only_on_start(admin):
    await deploy(admin, echo_flow("1"))
    await admin.post("/api/flows/echo/stop")
    updated = await admin.put("/api/flows/echo", content=echo_flow("2"), headers=TEXT)
    assert updated.json()["status"] == "stopped" and updated.json()["version"] == 2
    assert (await admin.post("/echo", json={})).status_code == 404
    await admin.post("/api/flows/echo/start")
    assert (await admin.post("/echo", json={})).json()["version"] == "2"
    await admin.post("/api/flows/echo/pause")
    paused = await admin.put("/api/flows/echo", content=echo_flow("3"), headers=TEXT)
    assert paused.json()["status"] == "paused"
    await admin.post("/api/flows/echo/resume")
    assert (await admin.post("/echo", json={})).json()["version"] == "3"


async def test_delete_drains_and_forgets(admin):
    await deploy(admin, echo_flow("1"))
    resp = await admin.delete("/api/flows/echo")
    assert resp.status_code == 204 and resp.content == b""
    assert (await admin.get("/api/flows/echo")).status_code == 404
    assert (await admin.post("/echo", json={})).status_code == 404
    assert (await admin.delete("/api/flows/echo")).status_code == 404
    again = await deploy(admin, echo_flow("1"))
    assert again.status_code == 201 and again.json()["version"] == 1


# --- probes and secrets -------------------------------------------------------------------
async def test_healthz_and_readyz_need_no_token(api, admin):
    await deploy(admin, HELLO)
    async with api.client(None) as anonymous:
        assert (await anonymous.get("/healthz")).json() == {"status": "ok"}
        ready = await anonymous.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "ready": True,
        "flows": [{"name": "hello", "status": "started", "ready": True, "disconnected": []}],
    }


async def test_secrets_from_env_never_appear_in_responses(admin, monkeypatch):
    secret = "s3cr3t-value-123"
    monkeypatch.setenv("ECHO_PATH_SECRET", secret)
    text = echo_flow("1").replace(
        'transform tag = json.map(mode: "merge") { version: "1" }',
        'transform tag = json.map(mode: "merge") { version: "${ECHO_PATH_SECRET}" }',
    )
    text = text.replace(
        'sink copy = memory.out(channel: "echo-copies")', 'sink copy = memory.out(channel: "${ECHO_PATH_SECRET}")'
    )
    created = await deploy(admin, text)
    assert created.status_code == 201
    bad_option = text.replace(
        'http.listen(path: "/echo")', 'http.listen(path: "/echo", max_body_bytes: "${ECHO_PATH_SECRET}")'
    )
    answers = [
        created,
        await admin.get("/api/flows/echo"),
        await admin.get("/api/flows"),
        *[await admin.get("/api/flows/echo/graph", params={"format": f}) for f in ("dot", "mermaid", "json")],
        await admin.get("/api/flows/echo/revisions/1"),
        await admin.put("/api/flows/echo", content=bad_option, headers=TEXT),  # E107 on a value from ${ENV}
        await admin.post("/api/lint", content=bad_option, headers=TEXT),
        await admin.get("/metrics"),
    ]
    for resp in answers:
        assert secret not in resp.text, resp.request.url
    detail = answers[1].json()
    assert "${ECHO_PATH_SECRET}" in detail["source"]
    assert {n["name"]: n["options"] for n in detail["nodes"]}["copy"] == {"channel": "${ECHO_PATH_SECRET}"}
    assert "the value of ${ECHO_PATH_SECRET} is not an integer" in json.dumps(answers[-3].json()["diagnostics"])


async def test_a_flow_whose_broker_is_unreachable_answers_503_and_is_not_recorded(admin):
    text = (
        "flow q {\n"
        '  source in = amqp.consume(url: "amqp://guest:guest@127.0.0.1:1/", queue: "api-unreachable")\n'
        "  sink out = log()\n  in -> out\n}\n"
    )
    resp = await admin.post("/api/flows", content=text, headers=TEXT)
    assert resp.status_code == 503 and resp.json()["error"]["type"] == "unavailable"
    assert resp.json()["error"]["message"].startswith("flow 'q' could not start: cannot connect to amqp://guest:***@")
    assert (await admin.get("/api/flows/q")).status_code == 404


async def test_lint_endpoint_reports_the_lint_rules_warnings_too(admin):
    with_warning = HELLO.replace('http.reply(content_type: "text/plain; charset=utf-8")',
                                 'http.reply(content_type: "text/plain; charset=utf-8", headers: {"x-api-key": "plain"})')
    resp = await admin.post("/api/lint", content=with_warning, headers=TEXT)
    assert resp.status_code == 200
    codes = [d["code"] for d in resp.json()["diagnostics"]]
    assert "W207" in codes and resp.json()["errors"] == 0  # a plaintext secret, as `flowengine lint` says
