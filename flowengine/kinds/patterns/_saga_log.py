"""The saga's record in the engine's store: one row per saga with its state, and a journal
of every step done, failed or compensated, in the order it happened.

    running -> completed
            -> compensating -> compensated
                            -> failed        (a compensation failed; it resumes if the
                                              message is delivered again)

The journal is what lets a redelivered message resume a saga instead of
running it again: steps already done are not repeated, compensations already
made are not made twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from flowengine.runtime.store import Store

DDL = """
CREATE TABLE IF NOT EXISTS pattern_saga (
    flow TEXT NOT NULL, node TEXT NOT NULL, saga_id TEXT NOT NULL,
    state TEXT NOT NULL, failed_step TEXT, error TEXT,
    started_at REAL NOT NULL, updated_at REAL NOT NULL,
    PRIMARY KEY (flow, node, saga_id)
);
CREATE TABLE IF NOT EXISTS pattern_saga_step (
    flow TEXT NOT NULL, node TEXT NOT NULL, saga_id TEXT NOT NULL, seq INTEGER NOT NULL,
    step INTEGER NOT NULL, target TEXT NOT NULL, action TEXT NOT NULL, status TEXT NOT NULL,
    error TEXT, at REAL NOT NULL,
    PRIMARY KEY (flow, node, saga_id, seq)
);
"""


class State(StrEnum):
    RUNNING = "running"
    COMPLETED = "completed"
    COMPENSATING = "compensating"
    COMPENSATED = "compensated"
    FAILED = "failed"


DO, UNDO = "do", "undo"
DONE, FAILED = "done", "failed"


@dataclass
class Run:
    """What the record says of one saga: its state and which steps are done and undone."""

    state: State
    failed_step: str | None = None
    error: str | None = None
    done: set[int] = field(default_factory=set)
    undone: set[int] = field(default_factory=set)


class SagaLog:
    """The sagas of one saga node (`flow`, `node`)."""

    def __init__(self, store: Store, flow: str, node: str) -> None:
        store.ensure_schema("pattern_saga", DDL)
        self.store = store
        self.owner = (flow, node)

    def begin(self, saga_id: str, now: float) -> Run:
        """The saga's record, created (running, nothing done) if this is its first delivery."""
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT state, failed_step, error FROM pattern_saga WHERE flow = ? AND node = ? AND saga_id = ?",
                (*self.owner, saga_id),
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO pattern_saga (flow, node, saga_id, state, started_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (*self.owner, saga_id, State.RUNNING, now, now),
                )
                return Run(State.RUNNING)
            run = Run(State(row[0]), row[1], row[2])
            for step, action in db.execute(
                "SELECT step, action FROM pattern_saga_step WHERE flow = ? AND node = ? AND saga_id = ? AND status = ?",
                (*self.owner, saga_id, DONE),
            ):
                (run.done if action == DO else run.undone).add(step)
            return run

    def record(self, saga_id: str, step: int, target: str, action: str, error: str | None, now: float) -> None:
        """Journal one step: done (no `error`) or failed."""
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO pattern_saga_step SELECT ?, ?, ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, ?, ?"
                " FROM pattern_saga_step WHERE flow = ? AND node = ? AND saga_id = ?",
                (
                    *self.owner,
                    saga_id,
                    step,
                    target,
                    action,
                    FAILED if error else DONE,
                    error,
                    now,
                    *self.owner,
                    saga_id,
                ),
            )

    def settle(self, saga_id: str, run: Run, now: float) -> None:
        """Write the saga's state (and, once it failed, which step failed and why)."""
        with self.store.transaction() as db:
            db.execute(
                "UPDATE pattern_saga SET state = ?, failed_step = ?, error = ?, updated_at = ?"
                " WHERE flow = ? AND node = ? AND saga_id = ?",
                (run.state, run.failed_step, run.error, now, *self.owner, saga_id),
            )

    def journal(self, saga_id: str) -> list[dict[str, Any]]:
        """Every step of a saga in the order it happened (for operators and tests)."""
        rows = self.store.query(
            "SELECT target, action, status, error FROM pattern_saga_step"
            " WHERE flow = ? AND node = ? AND saga_id = ? ORDER BY seq",
            (*self.owner, saga_id),
        )
        return [dict(r) for r in rows]
