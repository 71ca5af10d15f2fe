"""split and aggregate: parts and their headers, all-or-nothing acknowledgement, groups that
survive restarts without loss or double emission, completion by size, condition and timeout."""

from __future__ import annotations

import asyncio

from connectors.memory import hub_of
from flowengine.core.message import Message
from tests.conftest import codes, compile_ok
from tests.kinds.patterns_helpers import SWITCHES, compile_text_ok, rows, start, stop, until

SPLIT = """
flow s {
  source in = memory.in()
  transform parts = split(items: "body.lines")
  transform check = json.map(mode: "merge") { half: 1 / body.n * 2 }
  sink out = memory.out()
  in -> parts -> check -> out
}
"""


async def test_split_parts_carry_correlation_index_and_count(engine):
    await engine.deploy(compile_ok(SPLIT))
    hub = hub_of(engine.services)
    outcome = await hub.send("in", Message(json={"lines": [{"n": 1}, {"n": 2}, {"n": 4}]}, id="b1"))
    assert outcome.ok
    got = sorted(hub.received("out"), key=lambda m: m.headers["split-index"])
    assert [m.json for m in got] == [{"n": 1, "half": 2.0}, {"n": 2, "half": 1.0}, {"n": 4, "half": 0.5}]
    assert [m.id for m in got] == ["b1:0", "b1:1", "b1:2"]
    assert {(m.headers["split-id"], m.headers["split-count"]) for m in got} == {("b1", "3")}


async def test_source_is_acked_only_when_every_part_finished(engine):
    await engine.deploy(compile_ok(SPLIT))
    hub = hub_of(engine.services)
    outcome = await hub.send("in", {"lines": [{"n": 1}, {"n": 0}, {"n": 2}]})
    assert not outcome.ok  # one part failed: the whole batch is redelivered, none is lost
    assert outcome.error is not None and outcome.error.node == "check"
    assert len(hub.received("out")) == 2


async def test_split_of_nothing_is_dropped_and_counted(engine):
    await engine.deploy(compile_ok(SPLIT))
    outcome = await hub_of(engine.services).send("in", {"lines": []})
    assert outcome.ok and engine.flows["s"].stats["parts"].dropped == 1


async def test_split_of_a_non_array_is_a_bad_message(engine):
    await engine.deploy(compile_ok(SPLIT))
    outcome = await hub_of(engine.services).send("in", {"lines": {"n": 1}})
    assert outcome.error is not None and outcome.error.message == "split: `body.lines` is dict, not a JSON array"


BATCH = """
flow batch {
  source in = memory.in()
  transform lines = split(items: "body.lines")
  transform price = json.map(mode: "merge") { total: body.qty * body.price / (1 if body.sku != "flaky" or attempt > 1 else 0) }
  transform order = aggregate(size: "headers['split-count']", timeout: "%s") {
      order: headers['split-id']
      lines: body | length
      total: body | sum(attribute="total")
  }
  sink out = test.switch()
  sink late = memory.out()
  in -> lines -> price -> order -> out
  on error order -> late
}
"""
LINES = {
    "lines": [
        {"sku": "a", "qty": 2, "price": 5},
        {"sku": "flaky", "qty": 1, "price": 7},
        {"sku": "c", "qty": 1, "price": 1},
    ]
}


async def test_split_then_aggregate_rebuilds_the_batch_once(tmp_path):
    engine, hub = await start(BATCH % "10s", tmp_path / "state.db")
    ok = await hub.send("in", Message(json={"lines": LINES["lines"][:1] + LINES["lines"][2:]}, id="o1"))
    await stop(engine)
    assert ok.ok
    assert [m.json for m in SWITCHES["out"].seen] == [{"order": "o1", "lines": 2, "total": 11}]
    assert SWITCHES["out"].seen[0].headers["aggregate-complete"] == "true"


async def test_no_part_lost_and_no_group_sent_twice_across_restarts(tmp_path):
    state = tmp_path / "state.db"
    engine, hub = await start(BATCH % "10s", state)
    first = await hub.send("in", Message(json=LINES, id="o7", attempt=1))
    assert not first.ok  # the flaky line failed: the source would redeliver the batch
    assert rows(engine, "SELECT COUNT(*) FROM pattern_aggregate_member") == [(2,)]  # the other two are kept
    await stop(engine)

    engine, hub = await start(BATCH % "10s", state)  # a restart, then the broker's redelivery
    second = await hub.send("in", Message(json=LINES, id="o7", attempt=2))
    assert second.ok
    assert [m.json for m in SWITCHES["out"].seen] == [{"order": "o7", "lines": 3, "total": 18}]
    await stop(engine)

    engine, hub = await start(BATCH % "10s", state)  # the ack was lost: the batch comes a third time
    third = await hub.send("in", Message(json=LINES, id="o7", attempt=3))
    assert third.ok and SWITCHES["out"].seen == []  # every part recognised: the group is not sent again
    assert engine.flows["batch"].stats["order"].dropped == 3
    assert rows(engine, "SELECT COUNT(*) FROM pattern_aggregate_group") == [(0,)]
    await stop(engine)


async def test_a_group_whose_path_fails_is_kept_and_retried_until_it_goes_through(tmp_path):
    state = tmp_path / "state.db"
    engine, hub = await start(BATCH % "10s", state)
    SWITCHES["out"].failing = True
    ok = await hub.send("in", Message(json={"lines": LINES["lines"][:1]}, id="o9"))
    assert ok.ok  # the input is stored: acknowledged even though the group could not go on yet
    assert rows(engine, "SELECT state, attempts FROM pattern_aggregate_group") == [("complete", 1)]
    await stop(engine)

    engine, hub = await start(BATCH % "10s", state)  # still complete and undelivered after a restart
    await until(lambda: SWITCHES["out"].seen)
    assert [m.json["order"] for m in SWITCHES["out"].seen] == ["o9"]
    await until(lambda: rows(engine, "SELECT COUNT(*) FROM pattern_aggregate_group") == [(0,)])
    await stop(engine)


async def test_incomplete_group_times_out_to_the_error_route_with_what_it_had(tmp_path):
    state = tmp_path / "state.db"
    engine, hub = await start(BATCH % "300ms", state)
    await hub.send("in", Message(json=LINES, id="o3", attempt=1))  # 2 of 3 parts stored, then a crash
    await stop(engine)
    engine, hub = await start(BATCH % "300ms", state)  # the partial group survived the restart
    (late,) = await hub.wait_for("late", 1)
    await stop(engine)
    assert [line["sku"] for line in late.json] == ["a", "c"]
    assert late.headers["aggregate-complete"] == "false" and late.headers["aggregate-size"] == "2"
    assert late.headers["error-node"] == "order"
    assert late.headers["error-message"] == "group 'o3' timed out after 0.3s with 2 of 3 message(s)"
    assert SWITCHES["out"].seen == []


WINDOW = """
flow w {
  source in = memory.in()
  transform batch = aggregate(key: "body.device", timeout: "200ms", timeout_from: "last")
  transform done = aggregate(key: "body.device", complete_when: "body | selectattr('last') | list") { n: body | length }
  sink out = memory.out()
  sink marked = memory.out()
  in -> batch -> out
  in -> done -> marked
}
"""


async def test_timeout_alone_completes_a_batch_and_a_condition_completes_a_group(engine):
    await engine.deploy(compile_ok(WINDOW))
    hub = hub_of(engine.services)
    for i in range(3):
        await hub.send("in", {"device": "d1", "i": i, "last": i == 2})
    assert [m.json for m in hub.received("marked")] == [{"n": 3}]
    (batch,) = await hub.wait_for("out", 1)
    assert [b["i"] for b in batch.json] == [0, 1, 2] and batch.headers["aggregate-complete"] == "true"


async def test_aggregate_without_a_completion_does_not_compile():
    text = "flow a {\n  source in = memory.in()\n  transform g = aggregate()\n  sink out = memory.out()\n  in -> g -> out\n}"
    assert codes(text) == ["E104"]


ORU = (
    "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20240101120000||ORU^R01|MSG001|P|2.5\r"
    "PID|1||12345^^^HOSP||Doe^Jane\r"
    "OBR|1||ORD1|CBC^Blood count\r"
    "OBX|1|NM|HGB||13.5|g/dL\r"
    "OBX|2|NM|WBC||6.1|10*3/uL\r"
    "OBR|2||ORD2|NA^Sodium\r"
    "OBX|1|NM|NA||140|mmol/L\r"
)


async def test_hl7_split_gives_each_obr_with_its_obx_behind_the_header(engine):
    text = SPLIT.replace('split(items: "body.lines")', 'split(hl7: "OBR")').replace(
        'json.map(mode: "merge") { half: 1 / body.n * 2 }', 'json.map { order: hl7["OBR-3"]; tests: hl7["OBX[*]-3"] }'
    )
    await engine.deploy(compile_ok(text))
    hub = hub_of(engine.services)
    assert (await hub.send("in", Message(ORU.encode(), content_type="application/hl7-v2", id="m1"))).ok
    got = sorted(hub.received("out"), key=lambda m: m.headers["split-index"])
    assert [m.json for m in got] == [{"order": "ORD1", "tests": ["HGB", "WBC"]}, {"order": "ORD2", "tests": ["NA"]}]


async def test_hl7_split_of_a_batch_refuses_a_broken_message_alone_and_sends_the_others(engine):
    text = SPLIT.replace('split(items: "body.lines")', 'split(hl7: "PID")').replace(
        'json.map(mode: "merge") { half: 1 / body.n * 2 }', "hl7.to_json()"
    )
    await engine.deploy(compile_ok(text))
    hub = hub_of(engine.services)
    batch = (
        "BHS|^~\\&\r"
        "MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rPID|1||a^b\r"
        "MSH*#@!%*A******ADT#A01*2*P*2.5\rPID*1**\x01\r"
        "MSH*#@!%*A******ADT#A01*3*P*2.5\rPID*1**c#d\r"
        "BTS|3\r"
    )
    outcome = await hub.send("in", Message(batch.encode(), content_type="application/hl7-v2", id="b"))
    assert not outcome.ok and outcome.error.kind == "bad_message"  # the batch is not acknowledged whole
    assert "control character U+0001" in outcome.error.message
    got = sorted(hub.received("out"), key=lambda m: m.headers["split-index"])
    pid_3 = [(m.headers["split-index"], m.json["segments"][1][3]) for m in got]
    assert pid_3 == [("0", {"1": "a", "2": "b"}), ("2", {"1": "c", "2": "d"})]


async def test_xml_split_by_xpath_gives_each_element_as_a_document(engine):
    text = SPLIT.replace('split(items: "body.lines")', 'split(xpath: "/o:batch/o:order", namespaces: {o: "urn:o"})')
    text = text.replace('json.map(mode: "merge") { half: 1 / body.n * 2 }', "xml.to_json()")
    await engine.deploy(compile_ok(text))
    hub = hub_of(engine.services)
    xml = b'<batch xmlns="urn:o"><order id="1"/><order id="2"><line/></order></batch>'
    assert (await hub.send("in", Message(xml, content_type="application/xml"))).ok
    got = sorted(hub.received("out"), key=lambda m: m.headers["split-index"])
    assert len(got) == 2 and got[0].headers["split-count"] == "2"
    bad = await hub.send("in", Message(b"<batch>", content_type="application/xml"))
    assert bad.error is not None and bad.error.kind == "bad_message"


def test_split_options_are_checked_when_the_flow_compiles():
    head = (
        "flow a {\n  source in = memory.in()\n  transform p = split(%s)\n  sink out = memory.out()\n  in -> p -> out\n}"
    )
    assert codes(head % 'items: "body.a", hl7: "OBR"') == ["E104"]
    assert codes(head % 'xpath: "/a["') == ["E130"]
    assert codes(head % 'hl7: "obr"') == ["E103"]


def test_lint_warns_of_aggregates_that_could_wait_for_ever_or_time_out_unhandled():
    from flowengine.lint.linter import lint_text
    from flowengine.lint.rules.patterns import ENDLESS_GROUP, UNHANDLED_TIMEOUT

    for rule in (UNHANDLED_TIMEOUT, ENDLESS_GROUP):
        assert [d.code for d in lint_text(rule.example, "t.flow")] == [rule.code]
        assert lint_text(rule.fixed, "t.flow") == []


async def test_a_group_being_sent_is_not_sent_again_by_the_new_version_during_a_hot_replace(tmp_path):
    engine, hub = await start(BATCH % "400ms", tmp_path / "state.db")
    old = SWITCHES["out"]
    old.gate.clear()  # the old version's sink holds the group it is sending
    sending = asyncio.create_task(hub.send("in", Message(json={"lines": LINES["lines"][:1]}, id="o5")))
    await until(lambda: rows(engine, "SELECT state FROM pattern_aggregate_group") == [("complete",)])
    replacing = asyncio.create_task(engine.replace(compile_text_ok(BATCH % "400ms")))
    await until(lambda: SWITCHES["out"] is not old)  # the new version runs beside the draining old one
    await asyncio.sleep(0.3)  # a window, not a wait: the new version's timer must fire in it and not resend
    old.gate.set()
    await asyncio.wait_for(asyncio.gather(sending, replacing), 5)
    assert len(old.seen) == 1 and SWITCHES["out"] is not old and SWITCHES["out"].seen == []
    assert rows(engine, "SELECT COUNT(*) FROM pattern_aggregate_group") == [(0,)]
    await stop(engine)
