"""The idempotent consumer and the throttle."""

from __future__ import annotations

import asyncio

from connectors.memory import hub_of
from flowengine.runtime.engine import Engine
from flowengine.runtime.services import Services
from tests.conftest import compile_ok, eventually


def dedupe_flow(url: str, ttl: str = "24h") -> str:
    return f"""
flow once {{
  source in = memory.in()
  branch seen = dedupe(key: "body.id", ttl: "{ttl}")
  sink deliver = http.request(url: "{url}/deliver", timeout: 2)
  in -> seen -> deliver
}}"""


async def test_repeat_of_a_delivered_message_is_dropped_and_counted(engine, upstream):
    service, url = upstream
    await engine.deploy(compile_ok(dedupe_flow(url)))
    hub = hub_of(engine.services)
    outcomes = [await hub.send("in", {"id": key}) for key in ["a", "b", "a", "a", "c"]]
    assert all(o.ok for o in outcomes)
    assert [c for c in service.calls] == [b'{"id":"a"}', b'{"id":"b"}', b'{"id":"c"}']
    assert engine.flows["once"].stats["seen"].dropped == 2


async def test_a_failed_message_is_not_remembered_so_its_redelivery_goes_through(engine, upstream):
    service, url = upstream
    service.statuses = [503, 200]
    await engine.deploy(compile_ok(dedupe_flow(url)))
    hub = hub_of(engine.services)
    assert not (await hub.send("in", {"id": "a"})).ok  # the broker would redeliver it
    assert (await hub.send("in", {"id": "a"})).ok
    assert len(service.calls) == 2 and engine.flows["once"].stats["seen"].dropped == 0


async def test_concurrent_duplicates_wait_for_the_first_verdict(engine, upstream):
    service, url = upstream
    await engine.deploy(compile_ok(dedupe_flow(url)))
    hub = hub_of(engine.services)
    outcomes = await asyncio.gather(*(hub.send("in", {"id": "same"}) for _ in range(5)))
    assert all(o.ok for o in outcomes)
    assert len(service.calls) == 1


async def test_keys_survive_a_restart_and_expire_after_ttl(upstream, tmp_path):
    service, url = upstream
    for _ in range(2):  # two engine lifetimes on one state file
        engine = Engine(Services(tmp_path / "state.db"))
        await engine.deploy(compile_ok(dedupe_flow(url, ttl="300ms")))
        await hub_of(engine.services).send("in", {"id": "k"})
        await engine.stop()
        engine.services.close()
    assert len(service.calls) == 1
    await asyncio.sleep(0.35)  # the thing under test: the 300 ms TTL runs out
    engine = Engine(Services(tmp_path / "state.db"))
    await engine.deploy(compile_ok(dedupe_flow(url, ttl="300ms")))
    await hub_of(engine.services).send("in", {"id": "k"})
    await engine.stop()
    engine.services.close()
    assert len(service.calls) == 2


async def test_throttle_holds_messages_beyond_the_burst_instead_of_dropping(engine):
    await engine.deploy(compile_ok("""
flow slow {
  source in = memory.in()
  transform limit = throttle(rate: 10, per: "1s", burst: 2, key: "body.customer")
  sink out = memory.out()
  in -> limit -> out
}"""))
    hub = hub_of(engine.services)
    sends = [asyncio.create_task(hub.send("in", {"customer": c, "n": i})) for i, c in enumerate("aaaab")]
    await eventually(lambda: any(m.json["customer"] == "b" for m in hub.received("out")), what="b's message")
    passed = [(m.json["customer"], m.json["n"]) for m in hub.received("out")]
    assert passed[:3] == [("a", 0), ("a", 1), ("b", 4)]  # a's burst is spent, b has its own bucket
    outcomes = await asyncio.gather(*sends)
    assert all(o.ok for o in outcomes) and len(hub.received("out")) == 5
