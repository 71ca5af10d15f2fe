"""The example flows of the patterns run as documented: flows/order-saga.flow against real
HTTP services, flows/lab-split-aggregate.flow from HL7 in to per-patient summaries out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import orjson
import pytest
import uvicorn

from connectors.memory import hub_of
from flowengine.message import Message
from tests.conftest import REPO, compile_ok, free_port
from tests.kinds.patterns_helpers import until


class Services:
    """Real HTTP services on loopback that record each call (method, path, JSON body) and
    answer `failing` paths with 503, every other one with 200 and the request's body."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, object]] = []
        self.failing: set[str] = set()

    async def __call__(self, scope, receive, send) -> None:  # a bare ASGI app
        if scope["type"] != "http":
            return
        body = b""
        while True:
            event = await receive()
            body += event.get("body", b"")
            if not event.get("more_body"):
                break
        self.calls.append((scope["method"], scope["path"], orjson.loads(body) if body else None))
        status = 503 if scope["path"] in self.failing else 200
        await send(
            {"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]}
        )
        await send({"type": "http.response.body", "body": body or b"{}"})


@pytest.fixture
async def services() -> AsyncIterator[tuple[Services, str]]:
    app = Services()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    yield app, f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


ORDER = {
    "id": "A-1",
    "customer": {"name": "Ada", "email": "ada@example.org"},
    "country": "DE",
    "items": [{"sku": "X1", "qty": 1, "price": 9.99}],
}


async def test_order_saga_flow_confirms_or_compensates_in_reverse(engine, http_server, services):
    app, url = services
    text = (REPO / "flows/order-saga.flow").read_text()
    env = {"PAYMENTS_URL": url + "/pay", "STOCK_URL": url + "/stock", "SHIPPING_URL": url + "/ship"}
    await engine.deploy(compile_ok(text, "flows/order-saga.flow", env=env))

    ok = await http_server.post("/checkout", json=ORDER)
    assert ok.status_code == 201 and ok.headers["x-order-id"] == "A-1"
    assert [(m, p) for m, p, _ in app.calls] == [
        ("POST", "/pay/reservations"),
        ("POST", "/stock/holds"),
        ("POST", "/ship/shipments"),
    ]

    app.calls.clear()
    app.failing.add("/ship/shipments")
    refused = await http_server.post("/checkout", json={**ORDER, "id": "A-2"})
    assert refused.status_code == 409
    assert refused.json()["outcome"] == "compensated"
    assert refused.json()["reason"].endswith("compensated: release_stock, release_payment")
    assert [(m, p) for m, p, _ in app.calls] == [
        ("POST", "/pay/reservations"),
        ("POST", "/stock/holds"),
        ("POST", "/ship/shipments"),
        ("POST", "/ship/shipments"),  # its own retry, before the saga gives up
        ("DELETE", "/stock/holds/A-2"),
        ("DELETE", "/pay/reservations/A-2"),
    ]
    journal = engine.services.store.query(
        "SELECT target, action, status FROM pattern_saga_step WHERE saga_id = 'A-2' ORDER BY seq"
    )
    assert [tuple(r) for r in journal][-3:] == [
        ("book_shipment", "do", "failed"),
        ("release_stock", "undo", "done"),
        ("release_payment", "undo", "done"),
    ]


def oru(control: str, patient: str, *orders: tuple[str, str, str]) -> bytes:
    segments = [
        f"MSH|^~\\&|LAB|HOSP|EHR|HOSP|20240101120000||ORU^R01|{control}|P|2.5",
        f"PID|1||{patient}^^^HOSP||Doe^Jane",
    ]
    for i, (code, value, flag) in enumerate(orders, 1):
        segments += [f"OBR|{i}||ORD{control}{i}|{code}^{code} panel", f"OBX|1|NM|{code}||{value}|u||{flag}"]
    return ("\r".join(segments) + "\r").encode()


async def test_lab_flow_splits_orders_and_sends_one_summary_per_patient(engine, services):
    app, url = services
    text = (REPO / "flows/lab-split-aggregate.flow").read_text()
    text = text.replace('mllp.listen(port: 2576, host: "${LAB_MLLP_HOST:-127.0.0.1}")', "memory.in()")
    text = text.replace('timeout: "30s"', 'timeout: "300ms"')
    assert "memory.in()" in text and '"300ms"' in text
    await engine.deploy(compile_ok(text, "flows/lab-split-aggregate.flow", env={"CHART_URL": url}))
    hub = hub_of(engine.services)
    for msg in (
        oru("1", "P1", ("CBC", "13", ""), ("NA", "150", "H")),
        oru("2", "P2", ("K", "4", "")),
        oru("3", "P1", ("GLU", "5", "")),
    ):
        outcome = await hub.send("lab", Message(msg, content_type="application/hl7-v2"))
        assert outcome.ok and outcome.exchange.reply is not None  # the lab's ACK
    await until(lambda: len(app.calls) == 2)
    summaries = {path: body for _, path, body in app.calls}
    assert summaries["/patients/P1/lab"]["orders"] == ["CBC panel", "NA panel", "GLU panel"]
    assert summaries["/patients/P1/lab"]["abnormal"] == ["NA panel"]
    assert [r["code"] for r in summaries["/patients/P1/lab"]["results"]] == ["CBC", "NA", "GLU"]
    assert summaries["/patients/P2/lab"]["patient"] == {"id": "P2", "name": "Jane Doe"}
