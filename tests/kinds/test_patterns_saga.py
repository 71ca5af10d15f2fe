"""saga: steps in order; on failure, compensations of the completed steps in reverse order,
the outcome and every step recorded in the store, redeliveries resumed from the record."""

from __future__ import annotations

from connectors.memory import hub_of
from flowengine.core.message import Message
from tests.conftest import codes, compile_ok

SAGA = """
flow orders {
  source in = memory.in()
  transform order = saga(id: "body.order", steps: [
      {do: "reserve_payment", undo: "release_payment"},
      {do: "reserve_stock", undo: "release_stock"},
      {do: "notify"},
      {do: "ship"},
  ])
  sink done = memory.out()
  sink failed = memory.out()
  in -> order -> done
  on error order -> failed

  sink reserve_payment = memory.out(channel: "do")
  sink reserve_stock = memory.out(channel: "do")
  sink notify = memory.out(channel: "do")
  transform ship = json.map { tracking: body.address | upper ~ (1 / (0 if body.address == "nowhere" else 1)) | string }
  transform release_stock = json.map(mode: "merge") { undone: 1 / (0 if body.stuck and attempt == 1 else 1) }
  sink release_payment = memory.out(channel: "undo")
  release_stock -> stock_released
  sink stock_released = memory.out(channel: "undo")
}
"""


def record(engine, saga_id: str) -> tuple[str, list[tuple[str, str, str]]]:
    store = engine.services.store
    (state,) = store.query("SELECT state FROM pattern_saga WHERE saga_id = ?", (saga_id,))
    steps = store.query(
        "SELECT target, action, status FROM pattern_saga_step WHERE saga_id = ? ORDER BY seq", (saga_id,)
    )
    return state[0], [tuple(s) for s in steps]


async def test_a_saga_that_succeeds_runs_every_step_once_in_order(engine):
    await engine.deploy(compile_ok(SAGA))
    hub = hub_of(engine.services)
    outcome = await hub.send("in", {"order": "o1", "address": "dock 4"})
    assert outcome.ok
    assert [m.headers["saga-step"] for m in hub.received("do")] == ["reserve_payment", "reserve_stock", "notify"]
    (done,) = hub.received("done")
    assert done.headers["saga-outcome"] == "completed" and done.headers["saga-id"] == "o1"
    assert record(engine, "o1") == (
        "completed",
        [
            ("reserve_payment", "do", "done"),
            ("reserve_stock", "do", "done"),
            ("notify", "do", "done"),
            ("ship", "do", "done"),
        ],
    )
    again = await hub.send("in", {"order": "o1", "address": "dock 4"})  # redelivered: nothing runs twice
    assert again.ok and len(hub.received("do")) == 3 and len(hub.received("done")) == 2


async def test_a_failed_step_compensates_the_completed_ones_last_first(engine):
    await engine.deploy(compile_ok(SAGA))
    hub = hub_of(engine.services)
    outcome = await hub.send("in", {"order": "o2", "address": "nowhere"})
    assert outcome.ok and outcome.handled  # the error route took the failed saga
    undo = hub.received("undo")
    assert [m.headers["saga-step"] for m in undo] == ["release_stock", "release_payment"]
    assert {m.headers["saga-failed-step"] for m in undo} == {"ship"}
    (failed,) = hub.received("failed")
    assert failed.headers["saga-outcome"] == "compensated" and failed.headers["error-node"] == "order"
    assert failed.headers["error-message"] == (
        "saga 'o2' failed at 'ship' (node_failed: expression `body.address | upper ~ (1 / (0 if body.address == "
        '"nowhere" else 1)) | string` failed: division by zero); compensated: release_stock, release_payment'
    )
    assert record(engine, "o2") == (
        "compensated",
        [
            ("reserve_payment", "do", "done"),
            ("reserve_stock", "do", "done"),
            ("notify", "do", "done"),
            ("ship", "do", "failed"),
            ("release_stock", "undo", "done"),
            ("release_payment", "undo", "done"),
        ],
    )
    assert hub.received("done") == []


async def test_a_failed_compensation_is_recorded_and_resumed_on_redelivery(engine):
    text = SAGA.replace("  on error order -> failed\n", "").replace("  sink failed = memory.out()\n", "")
    await engine.deploy(compile_ok(text))
    hub = hub_of(engine.services)
    first = await hub.send("in", Message(json={"order": "o3", "address": "nowhere", "stuck": True}, attempt=1))
    assert not first.ok  # no error route: the source redelivers
    assert "compensation 'release_stock' failed" in first.error.message
    assert "still to undo: release_stock, release_payment" in first.error.message
    assert record(engine, "o3")[0] == "failed" and hub.received("undo") == []

    second = await hub.send("in", Message(json={"order": "o3", "address": "nowhere", "stuck": True}, attempt=2))
    assert not second.ok and second.error.message.endswith("compensated: release_stock, release_payment")
    assert [m.headers["saga-step"] for m in hub.received("undo")] == ["release_stock", "release_payment"]
    assert len(hub.received("do")) == 3  # the forward steps were not run again
    state, steps = record(engine, "o3")
    assert state == "compensated"
    assert [s for s in steps if s[1] == "undo"] == [
        ("release_stock", "undo", "failed"),
        ("release_stock", "undo", "done"),
        ("release_payment", "undo", "done"),
    ]


def test_saga_steps_must_name_transforms_or_sinks_of_the_flow():
    head = "flow f {\n  source in = memory.in()\n  transform s = saga(steps: [%s])\n  sink out = memory.out()\n  in -> s -> out\n"
    assert codes(head % '{do: "outt"}' + "}") == ["E110"]
    assert codes(head % '{do: "in"}' + "}") == ["E115"]
    assert codes(head % '{do: "s"}' + "}") == ["E115"]
    assert codes(head % '{do: "out", redo: "out"}' + "}") == ["E103"]
    assert (
        codes(head % '{do: "pay", undo: "refund"}' + "  sink pay = memory.out()\n  sink refund = memory.out()\n}") == []
    )
