"""enrich: ask a real HTTP endpoint through an http.request node and merge its reply with a mapping."""

from __future__ import annotations

from connectors.memory import hub_of
from tests.conftest import compile_ok

CRM = """
flow crm {
  source api = http.listen(path: "/customers/{cid}", method: "GET")
  branch known = filter(condition: "attributes['http.params'].cid != 'c404'")
  transform answer = json.map { id: attributes['http.params'].cid; tier: "gold"; address.city: "Lyon" }
  sink reply = http.reply()
  api -> known -> answer -> reply
}
"""

ORDERS = """
flow orders {
  source in = memory.in()
  transform customer = enrich(via: "crm") {
      customer.tier: body.tier
      customer.city: body.address.city
  }
  sink crm = http.request(url: "%s/customers/{{ body.customer.id }}", method: "GET", timeout: 5%s)
  sink out = memory.out()
  sink failed = memory.out()
  in -> customer -> out
  on error customer -> failed
}
"""


async def test_enrich_merges_fields_of_the_reply_into_the_message(engine, http_server):
    await engine.deploy(compile_ok(CRM))
    await engine.deploy(compile_ok(ORDERS % (http_server.base_url, "")))
    hub = hub_of(engine.services)
    outcome = await hub.send("in", {"id": 7, "customer": {"id": "c1", "name": "Ada"}})
    assert outcome.ok
    (out,) = hub.received("out")
    assert out.json == {"id": 7, "customer": {"id": "c1", "name": "Ada", "tier": "gold", "city": "Lyon"}}
    assert engine.flows["orders"].stats["crm"].sent == 1


async def test_a_failed_lookup_fails_the_enrich_after_the_lookups_retries(engine, upstream):
    service, url = upstream
    service.statuses = [503, 503, 200]
    flow = ORDERS.replace('method: "GET"', 'method: "POST"')  # the upstream echoes what it is sent
    await engine.deploy(compile_ok(flow % (url, ', retry: {attempts: 2, delay: "10ms"}')))
    hub = hub_of(engine.services)
    outcome = await hub.send("in", {"id": 8, "customer": {"id": "c2"}})
    assert outcome.ok and outcome.handled
    (failed,) = hub.received("failed")
    assert failed.headers["error-node"] == "customer" and failed.headers["error-type"] == "delivery_failed"
    assert failed.headers["error-message"].endswith("/customers/c2 answered 503")
    assert failed.headers["error-attempts"] == "2"
    assert len(service.calls) == 2
    retried = await hub.send("in", {"id": 9, "customer": {"id": "c3"}})  # the third call answers 200
    assert retried.ok and not retried.handled
