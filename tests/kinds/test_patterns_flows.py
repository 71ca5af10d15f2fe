"""The example flows of the patterns run as documented: flows/order-saga.flow against services
over real HTTP, flows/lab-split-aggregate.flow from HL7 in to per-patient summaries out."""

from __future__ import annotations

from connectors.memory import hub_of
from flowengine.core.message import Message
from tests.conftest import REPO, compile_ok

SERVICES = """
flow services "Payments, stock, shipping and the chart: HTTP endpoints that record each call" {
  source pay    = http.listen(path: "/pay/reservations", method: "POST")
  source unpay  = http.listen(path: "/pay/reservations/{id}", method: "DELETE")
  source hold   = http.listen(path: "/stock/holds", method: "POST")
  source unhold = http.listen(path: "/stock/holds/{id}", method: "DELETE")
  source ship   = http.listen(path: "/ship/shipments", method: "POST")
  source chart  = http.listen(path: "/patients/{id}/lab", method: "POST")
  sink calls    = memory.out()
  branch answer {
      when attributes['http.path'] == '/ship/shipments' and '"NOSHIP"' in text -> refuse
      else -> ok
  }
  sink ok       = http.reply()
  sink refuse   = http.reply(status: 503)
  pay -> calls
  unpay -> calls
  hold -> calls
  unhold -> calls
  ship -> calls
  chart -> calls
  calls -> answer
}
"""

ORDER = {"id": "A-1", "customer": {"name": "Ada", "email": "ada@example.org"}, "country": "DE",
         "items": [{"sku": "X1", "qty": 1, "price": 9.99}]}  # fmt: skip


def calls(engine) -> list[tuple[str, str]]:
    return [(m.attributes["http.method"], m.attributes["http.path"]) for m in hub_of(engine.services).received("calls")]


async def test_order_saga_flow_confirms_or_compensates_in_reverse(engine, http_server):
    await engine.deploy(compile_ok(SERVICES))
    url = str(http_server.base_url)
    text = (REPO / "flows/order-saga.flow").read_text()
    env = {"PAYMENTS_URL": url + "/pay", "STOCK_URL": url + "/stock", "SHIPPING_URL": url + "/ship"}
    await engine.deploy(compile_ok(text, "flows/order-saga.flow", env=env))

    ok = await http_server.post("/checkout", json=ORDER)
    assert ok.status_code == 201 and ok.headers["x-order-id"] == "A-1"
    assert calls(engine) == [("POST", "/pay/reservations"), ("POST", "/stock/holds"), ("POST", "/ship/shipments")]

    refused = await http_server.post("/checkout", json={**ORDER, "id": "NOSHIP"})  # shipping refuses this one
    assert refused.status_code == 409
    assert refused.json()["outcome"] == "compensated"
    assert refused.json()["reason"].endswith("compensated: release_stock, release_payment")
    assert calls(engine)[3:] == [
        ("POST", "/pay/reservations"),
        ("POST", "/stock/holds"),
        ("POST", "/ship/shipments"),
        ("POST", "/ship/shipments"),  # its own retry, before the saga gives up
        ("DELETE", "/stock/holds/NOSHIP"),
        ("DELETE", "/pay/reservations/NOSHIP"),
    ]
    journal = engine.services.store.query(
        "SELECT target, action, status FROM pattern_saga_step WHERE saga_id = 'NOSHIP' ORDER BY seq"
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


async def test_lab_flow_splits_orders_and_sends_one_summary_per_patient(engine, http_server):
    await engine.deploy(compile_ok(SERVICES))
    text = (REPO / "flows/lab-split-aggregate.flow").read_text()
    text = text.replace('mllp.listen(port: 2576, host: "${LAB_MLLP_HOST:-127.0.0.1}")', "memory.in()")
    assert "memory.in()" in text
    env = {"CHART_URL": str(http_server.base_url), "LAB_SUMMARY_AFTER": "300ms"}
    await engine.deploy(compile_ok(text, "flows/lab-split-aggregate.flow", env=env))
    hub = hub_of(engine.services)
    for msg in (
        oru("1", "P1", ("CBC", "13", ""), ("NA", "150", "H")),
        oru("2", "P2", ("K", "4", "")),
        oru("3", "P1", ("GLU", "5", "")),
    ):
        outcome = await hub.send("lab", Message(msg, content_type="application/hl7-v2"))
        assert outcome.ok and outcome.exchange.reply is not None  # the lab's ACK
    summaries = {m.attributes["http.path"]: m.json for m in await hub.wait_for("calls", 2)}
    assert summaries["/patients/P1/lab"]["orders"] == ["CBC panel", "NA panel", "GLU panel"]
    assert summaries["/patients/P1/lab"]["abnormal"] == ["NA panel"]
    assert [r["code"] for r in summaries["/patients/P1/lab"]["results"]] == ["CBC", "NA", "GLU"]
    assert summaries["/patients/P2/lab"]["patient"] == {"id": "P2", "name": "Jane Doe"}
