"""wiretap, recipients, delay and loop: side copies that never hold up or fail the main path,
dynamic recipients checked against the graph, and bounded delays and loops."""

from __future__ import annotations

import asyncio

from connectors.memory import hub_of
from tests.conftest import codes, compile_ok
from tests.kinds.patterns_helpers import SWITCHES, start, stop, until

TAP = """
flow t {
  source in = memory.in()
  transform tap = wiretap(to: "audit")
  sink out = memory.out()
  in -> tap -> out
  sink audit = test.switch()
  audit -> copies
  sink copies = memory.out()
}
"""


async def test_wiretap_neither_waits_for_nor_fails_with_the_tapped_path():
    engine, hub = await start(TAP)
    audit = SWITCHES["audit"]
    audit.gate.clear()  # the tapped path hangs...
    assert (await hub.send("in", {"n": 1})).ok  # ...and the main path is done regardless
    assert len(hub.received("out")) == 1 and hub.received("copies") == []
    audit.gate.set()
    await hub.wait_for("copies", 1)
    audit.failing = True
    assert (await hub.send("in", {"n": 2})).ok  # a failing tap does not fail the message
    await until(lambda: engine.flows["t"].stats["audit"].errors == 1)
    await stop(engine)
    assert [m.json["n"] for m in hub.received("out")] == [1, 2]


RECIPIENTS = """
flow r {
  source in = memory.in()
  branch fan = recipients(to: "body.notify")
  sink email = memory.out()
  sink sms = memory.out()
  sink audit = memory.out()
  sink errors = memory.out()
  in -> fan
  fan -> email
  fan -> sms
  fan -> audit
  on error fan -> errors
}
"""


async def test_recipients_get_a_copy_each_and_unknown_names_fail_clearly(engine):
    await engine.deploy(compile_ok(RECIPIENTS))
    hub = hub_of(engine.services)
    assert (await hub.send("in", {"notify": ["email", "audit", "email"]})).ok
    assert (await hub.send("in", {"notify": "sms"})).ok
    assert [len(hub.received(c)) for c in ("email", "sms", "audit")] == [1, 1, 1]
    await hub.send("in", {"notify": ["email", "smss"]})
    await hub.send("in", {"notify": []})
    assert [m.headers["error-message"] for m in hub.received("errors")] == [
        "'smss' is not a target of 'fan' (its targets: audit, email, sms); did you mean 'sms'?",
        "recipients `body.notify` gave no recipient for this message",
    ]
    assert len(hub.received("email")) == 1  # a bad list sends nothing at all


DELAY = """
flow d {
  source in = memory.in()
  transform wait = delay(for: "body.wait", max: "50ms")
  sink out = memory.out()
  in -> wait -> out
}
"""


async def test_delay_holds_the_message_in_flight_and_is_capped(engine):
    await engine.deploy(compile_ok(DELAY))
    hub = hub_of(engine.services)
    sending = asyncio.create_task(hub.send("in", {"wait": 3600}))  # an hour asked, 50 ms allowed
    await asyncio.sleep(0)
    assert engine.flows["d"].in_flight == 1  # not acknowledged while it waits
    assert (await asyncio.wait_for(sending, 5)).ok
    bad = await hub.send("in", {"wait": "soon"})
    assert bad.error is not None and bad.error.message == "delay `body.wait` gave 'soon', not a duration"


LOOP = """
flow l {
  source in = memory.in()
  transform pages = loop(body: "fetch", while: "body.next", max: 5, emit: "each")
  transform thrice = loop(body: "bump", times: 3)
  transform fetch = json.map { page: body.page + 1; next: body.page + 1 < body.last; last: body.last }
  transform bump = json.map { n: body.n + 1; rounds: headers['loop-index'] | int + 1 }
  sink out = memory.out()
  sink counted = memory.out()
  sink errors = memory.out()
  in -> pages -> out
  in -> thrice -> counted
  on error -> errors
}
"""


async def test_loop_runs_a_node_while_a_condition_holds_within_its_bound(engine):
    await engine.deploy(compile_ok(LOOP))
    hub = hub_of(engine.services)
    assert (await hub.send("in", {"page": 0, "next": True, "last": 3, "n": 0})).ok
    assert sorted(m.json["page"] for m in hub.received("out")) == [1, 2, 3]
    assert [m.json for m in hub.received("counted")] == [{"n": 3, "rounds": 3}]
    await hub.send("in", {"page": 0, "next": True, "last": 100, "n": 0})
    (error,) = hub.received("errors")
    assert error.headers["error-message"] == "loop still running after max=5 rounds (`body.next` still holds)"


def test_nodes_named_in_options_are_checked_and_count_as_reached():
    head = "flow f {\n  source in = memory.in()\n  sink out = memory.out()\n  in -> t -> out\n"
    assert codes(head + '  transform t = wiretap(to: "audti")\n  sink audit = memory.out()\n}') == ["E110", "E120"]
    assert codes(head + '  transform t = wiretap(to: "audit")\n  sink audit = memory.out()\n}') == []
    assert codes(head + '  transform t = loop(body: "b", times: 200)\n  transform b = json.map { a: 1 }\n}') == ["E103"]
    assert codes(head + '  transform t = loop(body: "b")\n  transform b = json.map { a: 1 }\n}') == ["E104"]
