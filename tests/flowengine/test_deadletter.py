"""Dead letters: parked byte for byte with their envelope, explained, replayed after a fix."""

from __future__ import annotations

import base64
import sqlite3

from connectors.memory import hub_of
from flowengine.core.message import Message
from flowengine.deadletter.replay import replay
from flowengine.deadletter.store import SCHEMA, DeadLetterStore
from flowengine.runtime.engine import Engine
from flowengine.runtime.services import Services
from flowengine.runtime.store import Store
from tests.conftest import compile_ok

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def flow(url: str) -> str:
    return f"""
flow billing {{
  source in = memory.in()
  transform shape = json.map {{ invoice: body.id }}
  sink bill = http.request(url: "{url}/bill", timeout: 2, retry: {{attempts: 3, delay: "1ms"}})
  sink parked = dead_letter()
  in -> shape -> bill
  on error -> parked
}}"""


async def test_failed_message_is_parked_with_its_original_bytes_and_envelope(upstream, tmp_path):
    service, url = upstream
    service.statuses = [500]
    engine = Engine(Services(tmp_path / "state.db"))
    compiled = compile_ok(flow(url))
    await engine.deploy(compiled)
    original = Message(b'{"id": "INV-7",  "odd spacing": true}', content_type="application/json",
                       headers={"x-customer": "c-1"}, id="m-42", traceparent=TRACE)
    outcome = await hub_of(engine.services).send("in", original)
    assert outcome.ok and outcome.handled  # parked: the source may acknowledge
    store = DeadLetterStore(engine.services.store)
    (letter,) = store.list("billing")
    envelope = letter.envelope()
    assert base64.b64decode(envelope["message"]["body_base64"]) == b'{"id": "INV-7",  "odd spacing": true}'
    assert envelope["message"]["headers"] == {"x-customer": "c-1", "traceparent": TRACE}
    assert envelope["message"]["id"] == "m-42"
    assert (envelope["flow"], envelope["revision"], envelope["node"], envelope["source"]) == (
        "billing", compiled.revision, "bill", "in",
    )
    assert envelope["error"]["type"] == "delivery_failed" and envelope["attempts"] == 3
    assert envelope["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert envelope["first_failure"] <= envelope["last_failure"]
    assert letter.explain().startswith(
        f"dead letter {letter.id} of flow 'billing' (revision {compiled.revision}): node 'bill' failed "
        "with delivery_failed after 3 attempts: POST "
    )
    await engine.stop()


async def test_replay_after_the_fix_delivers_and_marks_replayed(upstream, tmp_path):
    service, url = upstream
    service.statuses = [500]
    engine = Engine(Services(tmp_path / "state.db"))
    await engine.deploy(compile_ok(flow(url)))
    hub = hub_of(engine.services)
    for i in range(5):
        assert (await hub.send("in", {"id": f"INV-{i}"})).handled
    store = DeadLetterStore(engine.services.store)
    assert store.count("billing") == 5
    service.calls.clear()
    service.statuses = [200]  # the service is fixed
    report = await replay(engine.flows["billing"], store, store.select("billing"))
    assert report.summary() == "5 selected: 5 delivered, 0 parked again, 0 still failing (left parked)"
    assert sorted(service.calls) == sorted(f'{{"invoice":"INV-{i}"}}'.encode() for i in range(5))
    assert store.count("billing") == 0 and store.count("billing", "replayed") == 5
    await engine.stop()


async def test_replay_while_still_broken_parks_again(upstream, tmp_path):
    service, url = upstream
    service.statuses = [500]
    engine = Engine(Services(tmp_path / "state.db"))
    await engine.deploy(compile_ok(flow(url)))
    await hub_of(engine.services).send("in", {"id": "INV-1"})
    store = DeadLetterStore(engine.services.store)
    report = await replay(engine.flows["billing"], store, store.select("billing"))
    assert (len(report.delivered), len(report.parked_again)) == (0, 1)
    (again,) = store.list("billing")
    assert again.id != report.parked_again[0]
    assert store.purge("billing") == 2
    await engine.stop()


async def test_a_letter_parked_again_keeps_its_earlier_failures_and_attributes(upstream, tmp_path):
    service, url = upstream
    service.statuses = [500]
    engine = Engine(Services(tmp_path / "state.db"))
    await engine.deploy(compile_ok(flow(url)))
    sent = Message(b'{"id": "INV-1"}', content_type="application/json", attributes={"http.path": "/bill"})
    await hub_of(engine.services).send("in", sent)
    store = DeadLetterStore(engine.services.store)
    (first,) = store.list("billing")
    assert first.attributes == {"http.path": "/bill"} and first.history == []
    await replay(engine.flows["billing"], store, store.select("billing"))
    await replay(engine.flows["billing"], store, store.select("billing"))
    (third,) = store.list("billing")
    assert third.attributes == {"http.path": "/bill"}
    assert [h["error"]["type"] for h in third.history] == ["delivery_failed", "delivery_failed"]
    assert third.history[0] == first.failure()
    assert third.envelope()["history"] == third.history
    assert third.explain().endswith("It had failed 2 time(s) before (history).")
    await engine.stop()


def test_a_state_file_from_before_attributes_is_migrated_and_its_rows_read_as_empty(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    ddl = SCHEMA.replace("CREATE INDEX IF NOT EXISTS dead_letters_flow ON dead_letters (flow, status, id);", "")
    old.executescript(ddl)  # the table exactly as the first release created it: no attributes, no history
    old.execute(
        "INSERT INTO dead_letters (flow, revision, node, source, error_type, error_message, error_details, attempts,"
        " first_failure, last_failure, message_id, content_type, headers, body)"
        " VALUES ('billing', 'r1', 'bill', 'in', 'delivery_failed', 'down', '[]', 1, 1.0, 2.0, 'm-1',"
        " 'application/octet-stream', '{}', x'00ff')"
    )
    old.commit()
    old.close()
    store = DeadLetterStore(Store(path))
    (letter,) = store.list("billing")
    assert (letter.attributes, letter.history, letter.body) == ({}, [], b"\x00\xff")
    assert letter.envelope()["message"]["body_text"] is None  # binary: base64 only
    assert letter.to_message().attributes == {}
