"""HTTP through the real in-process server (uvicorn on loopback): listen, reply, request."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from flowengine.runtime.engine import Engine
from tests.conftest import REPO, compile_ok

ORDER = orjson.loads((REPO / "docs/examples/order.json").read_bytes())


async def deploy_file(engine: Engine, name: str) -> None:
    path = REPO / "flows" / name
    await engine.deploy(compile_ok(path.read_text(), str(path)))


async def test_orders_flow_validates_maps_routes_and_answers(engine, http_server):
    await deploy_file(engine, "orders.flow")
    resp = await http_server.post("/orders", json=ORDER)
    assert resp.status_code == 201
    assert resp.headers["x-order-id"] == "A-1001"
    assert resp.json() == {
        "id": "A-1001",
        "customer": {"name": "Ada"},
        "region": "de",
        "total": 30.0,
        "lines": 2,
        "desk": "eu-orders",
    }
    other = await http_server.post("/orders", json={**ORDER, "country": "BR"})
    assert other.json()["desk"] == "manual-review"


async def test_body_that_is_not_json_gets_400_naming_the_problem(engine, http_server):
    await deploy_file(engine, "orders.flow")
    resp = await http_server.post("/orders", content=b"{not json", headers={"content-type": "application/json"})
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["type"] == "bad_message" and error["node"] == "check"
    assert error["message"].startswith("body is not valid JSON")


async def test_schema_violation_gets_422_with_json_pointers(engine, http_server):
    await deploy_file(engine, "orders.flow")
    bad = {"id": "", "country": "DEU", "customer": {"name": "Ada"}, "items": [{"sku": "X", "qty": 0}]}
    resp = await http_server.post("/orders", json=bad)
    assert resp.status_code == 422
    details = resp.json()["error"]["details"]
    assert [d["pointer"] for d in details] == ["/country", "/customer/email", "/id", "/items/0/price", "/items/0/qty"]


async def test_oversized_body_is_refused_with_413(engine, http_server):
    await deploy_file(engine, "orders.flow")
    resp = await http_server.post("/orders", content=b"x" * 70_000)
    assert resp.status_code == 413
    assert resp.json()["error"] == {
        "type": "too_large",
        "node": "web",
        "message": "body of 70000 bytes is over the limit of 65536 bytes",
    }


async def test_failing_transform_answers_500_with_node_and_server_keeps_serving(engine, http_server):
    await engine.deploy(
        compile_ok("""
flow div {
  source in = http.listen(path: "/div")
  transform calc = json.map { q: body.a / body.b }
  sink out = http.reply()
  in -> calc -> out
}""")
    )
    resp = await http_server.post("/div", json={"a": 1, "b": 0})
    assert resp.status_code == 500
    assert resp.json()["error"]["node"] == "calc"
    ok = await http_server.post("/div", json={"a": 1, "b": 4})
    assert ok.status_code == 200 and ok.json() == {"q": 0.25}


async def test_template_reply_and_unknown_routes(engine, http_server):
    await deploy_file(engine, "hello.flow")
    resp = await http_server.post("/hello", json={"name": "Ada"})
    assert (resp.status_code, resp.text, resp.headers["content-type"]) == (
        200,
        "Hello, Ada!\n",
        "text/plain; charset=utf-8",
    )
    assert (await http_server.post("/hello", json={})).text == "Hello, world!\n"
    assert (await http_server.get("/hello")).status_code == 405
    assert (await http_server.post("/nope")).status_code == 404


async def test_no_reply_means_204_and_path_parameters_are_attributes(engine, http_server):
    await engine.deploy(
        compile_ok("""
flow p {
  source in = http.listen(path: "/items/{sku}", method: "PUT")
  transform m = json.map { sku: attributes["http.params"].sku; q: attributes["http.query"].q }
  sink out = memory.out(channel: "items")
  in -> m -> out
}""")
    )
    resp = await http_server.put("/items/X-1?q=2", json={})
    assert resp.status_code == 204
    from connectors.memory import hub_of

    assert hub_of(engine.services).received("items")[0].json == {"sku": "X-1", "q": "2"}


@pytest.mark.parametrize(("status", "expected"), [(200, 200), (503, 502)])
async def test_http_request_calls_out_and_maps_failures_to_502(engine, http_server, status, expected):
    base = str(http_server.base_url)
    await engine.deploy(
        compile_ok(f"""
flow upstream {{
  source in = http.listen(path: "/upstream")
  transform body = json.map {{ seen: body.v; trace: headers.traceparent }}
  sink out = http.reply(status: {status})
  in -> body -> out
}}""")
    )
    await engine.deploy(
        compile_ok(f"""
flow caller {{
  source in = http.listen(path: "/call")
  sink call = http.request(url: "{base}/upstream", timeout: 5)
  sink out = http.reply()
  in -> call -> out
}}""")
    )
    trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    resp = await http_server.post("/call", json={"v": 7}, headers={"traceparent": trace})
    assert resp.status_code == expected
    if expected == 200:
        assert resp.json() == {"seen": 7, "trace": trace}
    else:
        assert resp.json()["error"]["type"] == "delivery_failed"
        assert resp.json()["error"]["message"].endswith("/upstream answered 503")


async def test_http_request_timeout_is_a_delivery_failure(engine, http_server):
    release = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await release.wait()  # accept, never answer
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    await engine.deploy(
        compile_ok(f"""
flow caller {{
  source in = http.listen(path: "/call")
  sink call = http.request(url: "http://127.0.0.1:{port}/never", timeout: 0.2)
  sink out = http.reply()
  in -> call -> out
}}""")
    )
    resp = await http_server.post("/call", json={})
    release.set()
    server.close()
    await server.wait_closed()
    assert resp.status_code == 502
    assert resp.json()["error"]["message"] == f"POST http://127.0.0.1:{port}/never timed out after 0.2s"


async def test_a_paused_endpoint_answers_503_with_retry_after(engine, http_server):
    await deploy_file(engine, "hello.flow")
    await engine.flows["hello"].pause()
    paused = await http_server.post("/hello", json={"name": "Ada"})
    assert paused.status_code == 503 and paused.headers["retry-after"] == "1"
    assert paused.json()["error"] == {"type": "paused", "message": "flow 'hello' is paused"}
    await engine.flows["hello"].resume()
    assert (await http_server.post("/hello", json={"name": "Ada"})).text == "Hello, Ada!\n"


async def test_a_reply_on_one_path_does_not_hide_a_failed_sink_on_another(engine, http_server, upstream):
    service, url = upstream
    service.statuses = [500]
    await engine.deploy(
        compile_ok(f"""
flow fanout {{
  source web = http.listen(path: "/fan")
  transform norm = json.map {{ v: body.v }}
  sink warehouse = http.request(url: "{url}/stock", timeout: 5)
  sink answer = http.reply(status: 201)
  web -> norm
  norm -> warehouse
  norm -> answer
}}""")
    )
    resp = await http_server.post("/fan", json={"v": 1})
    assert resp.status_code == 502
    error = resp.json()["error"]
    assert error["type"] == "delivery_failed" and error["node"] == "warehouse"
    assert service.calls == [b'{"v":1}']


async def test_a_reply_on_one_path_does_not_hide_a_failed_log_on_another(engine, http_server):
    await engine.deploy(
        compile_ok("""
flow fanlog {
  source web = http.listen(path: "/fanlog")
  sink note = log(level: "error", message: "{{ body.a / body.b }}")
  sink answer = http.reply(status: 201)
  web -> note
  web -> answer
}""")
    )
    failed = await http_server.post("/fanlog", json={"a": 1, "b": 0})
    assert failed.status_code == 500
    assert failed.json()["error"]["node"] == "note"
    fine = await http_server.post("/fanlog", json={"a": 1, "b": 1})
    assert fine.status_code == 201


async def test_an_error_route_reply_answers_but_a_main_path_reply_does_not(engine, http_server, upstream):
    service, url = upstream
    service.statuses = [500]
    flow = """
flow {name} {{
  source web = http.listen(path: "/{name}")
  sink warehouse = http.request(url: "{url}/stock", timeout: 5)
  sink answer = http.reply(status: 201)
  sink parked = memory.out(channel: "parked")
  {extra}
  web -> warehouse
  web -> answer
  on error warehouse -> {handler}
}}"""
    await engine.deploy(compile_ok(flow.format(name="parking", url=url, extra="", handler="parked")))
    parked_only = await http_server.post("/parking", json={})
    assert parked_only.status_code == 502  # parked, but not processed as asked: the error's status
    await engine.deploy(
        compile_ok(
            flow.format(
                name="routed",
                url=url,
                extra="sink sorry = http.reply(status: 202)\n  transform note = json.map { queued: true }",
                handler="note\n  note -> sorry\n  note -> parked",
            )
        )
    )
    routed = await http_server.post("/routed", json={})
    assert routed.status_code == 202 and routed.json() == {"queued": True}
