"""/metrics in Prometheus text format, and readiness following connection state."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from connectors.http.listen import HttpListen
from tests.api.conftest import HELLO, echo_flow

TEXT = {"content-type": "text/plain"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def key(name: str, **labels: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted(labels.items()))


async def test_metrics_count_messages_errors_times_and_states(admin):
    await admin.post("/api/flows", content=echo_flow("1"), headers=TEXT)
    await admin.post("/api/flows", content=HELLO, headers=TEXT)
    await admin.post("/api/flows/hello/pause")
    for i in range(5):
        await admin.post("/echo", json={"i": i})
    await admin.post("/echo", content=b"{bad", headers={"content-type": "application/json"})
    resp = await admin.get("/metrics")
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    got = samples(resp.text)
    web = {"flow": "echo", "node": "web", "kind": "http.listen"}
    tag = {"flow": "echo", "node": "tag", "kind": "json.map"}
    copy = {"flow": "echo", "node": "copy", "kind": "memory.out"}
    assert got[key("flowengine_node_received_total", **web)] == 6
    assert got[key("flowengine_node_sent_total", **web)] == 5
    assert got[key("flowengine_node_errors_total", **tag)] == 1
    assert got[key("flowengine_node_sent_total", **copy)] == 5
    assert got[key("flowengine_node_dropped_total", **copy)] == 0
    assert got[key("flowengine_node_in_flight", **tag)] == 0
    assert got[key("flowengine_flow_in_flight", flow="echo")] == 0
    assert got[key("flowengine_connector_connected", **web)] == 1
    assert key("flowengine_connector_connected", **tag) not in got  # transforms have no connection
    assert got[key("flowengine_message_processing_seconds_count", flow="echo", source="web")] == 6
    assert got[key("flowengine_message_processing_seconds_bucket", flow="echo", source="web", le="+Inf")] == 6
    assert got[key("flowengine_message_processing_seconds_sum", flow="echo", source="web")] > 0
    assert got[key("flowengine_flow_up", flow="echo")] == 1
    assert got[key("flowengine_flow_up", flow="hello")] == 0  # paused
    assert got[key("flowengine_flow_version", flow="echo")] == 1


async def test_deleted_flows_leave_no_series(admin):
    await admin.post("/api/flows", content=echo_flow("1"), headers=TEXT)
    await admin.post("/echo", json={})
    await admin.delete("/api/flows/echo")
    assert 'flow="echo"' not in (await admin.get("/metrics")).text


async def test_readyz_and_metrics_follow_a_connector_going_down(api, admin, monkeypatch):
    await admin.post("/api/flows", content=echo_flow("1"), headers=TEXT)
    monkeypatch.setattr(HttpListen, "connected", property(lambda self: False))
    ready = await admin.get("/readyz")
    assert ready.status_code == 503
    assert ready.json() == {
        "ready": False,
        "flows": [{"name": "echo", "status": "started", "ready": False, "disconnected": ["web"]}],
    }
    web = {"flow": "echo", "node": "web", "kind": "http.listen"}
    assert samples((await admin.get("/metrics")).text)[key("flowengine_connector_connected", **web)] == 0
    nodes = (await admin.get("/api/flows/echo")).json()["nodes"]
    assert [n["counters"]["connected"] for n in nodes] == [False, True, True, True]
