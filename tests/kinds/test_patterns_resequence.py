"""resequence: order restored within a window, gaps given up on by count or time, late and
duplicate numbers dropped, failed sends retried in place, streams kept across a restart."""

from __future__ import annotations

from connectors.memory import hub_of
from flowengine.core.message import Message
from tests.conftest import codes, compile_ok
from tests.kinds.patterns_helpers import SWITCHES, start, stop, until

FLOW = """
flow r {
  source in = memory.in()
  transform order = resequence(sequence: "body.seq", key: "body.device", start: 1, %s)
  sink out = memory.out()
  in -> order -> out
}
"""


def seqs(hub, channel: str = "out") -> list[tuple[str, int]]:
    return [(m.json["device"], m.json["seq"]) for m in hub.received(channel)]


async def test_order_is_restored_per_stream(engine):
    await engine.deploy(compile_ok(FLOW % "window: 10"))
    hub = hub_of(engine.services)
    for device, seq in [("a", 3), ("b", 2), ("a", 1), ("b", 1), ("a", 2), ("a", 5), ("a", 4)]:
        assert (await hub.send("in", {"device": device, "seq": seq})).ok
    got = seqs(hub)
    assert [s for d, s in got if d == "a"] == [1, 2, 3, 4, 5]
    assert [s for d, s in got if d == "b"] == [1, 2]


async def test_a_full_window_gives_up_on_the_gap_and_a_late_one_is_dropped(engine):
    await engine.deploy(compile_ok(FLOW % "window: 2"))
    hub = hub_of(engine.services)
    await hub.send("in", {"device": "a", "seq": 2})
    assert seqs(hub) == []  # waiting for 1
    await hub.send("in", {"device": "a", "seq": 3})
    assert seqs(hub) == [("a", 2), ("a", 3)]  # two waited behind the gap: 1 is given up on
    late = await hub.send("in", {"device": "a", "seq": 1})
    dup = await hub.send("in", {"device": "a", "seq": 3})
    assert late.ok and dup.ok and seqs(hub) == [("a", 2), ("a", 3)]
    assert engine.flows["r"].stats["order"].dropped == 2


async def test_a_gap_is_given_up_on_after_the_timeout(engine):
    await engine.deploy(compile_ok(FLOW % 'timeout: "150ms"'))
    hub = hub_of(engine.services)
    await hub.send("in", {"device": "a", "seq": 2})
    await hub.send("in", {"device": "a", "seq": 4})
    await hub.wait_for("out", 2)
    assert seqs(hub) == [("a", 2), ("a", 4)]


RETRY = """
flow r {
  source in = memory.in()
  transform order = resequence(sequence: "body.seq", start: 0, window: 100)
  sink out = test.switch()
  in -> order -> out
}
"""


async def test_streams_survive_a_restart_and_a_failed_send_is_retried_not_skipped(tmp_path):
    state = tmp_path / "state.db"
    engine, hub = await start(RETRY, state)
    await hub.send("in", {"seq": 2})
    await hub.send("in", {"seq": 1})
    await stop(engine)  # 1 and 2 wait for 0 in the store

    engine, hub = await start(RETRY, state)
    SWITCHES["out"].failing = True
    assert (await hub.send("in", Message(json={"seq": 0}))).ok  # stored; sending it fails for now
    assert SWITCHES["out"].seen == []
    SWITCHES["out"].failing = False
    await until(lambda: len(SWITCHES["out"].seen) == 3)
    await stop(engine)
    assert [m.json["seq"] for m in SWITCHES["out"].seen] == [0, 1, 2]


def test_resequence_needs_a_window_or_a_timeout():
    text = FLOW.replace(", start: 1, %s", "")
    assert codes(text) == ["E104"]
