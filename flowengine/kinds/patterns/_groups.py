"""The aggregate's groups, kept in the engine's store so a restart loses no partial group.

A group is `open` while it collects members; `complete` (or `expired`, when it
timed out short) once it waits to be delivered; and deleted when delivered, its
members' ids kept for a while in `pattern_aggregate_seen` so that a redelivered
member of a group already sent on is recognised and dropped instead of starting
a new group that would be sent again. Adding a member and deciding completion
happen in one transaction: a crash leaves a group either open with the member
or without it, never complete but unmarked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from sqlite3 import Connection
from uuid import uuid4

from flowengine.core.message import Message
from flowengine.kinds.patterns._durable import LEASE, backoff, envelope, restore
from flowengine.runtime.store import Store

OPEN, COMPLETE, EXPIRED = "open", "complete", "expired"

DDL = """
CREATE TABLE IF NOT EXISTS pattern_aggregate_group (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    flow TEXT NOT NULL, node TEXT NOT NULL, key TEXT NOT NULL,
    state TEXT NOT NULL, message_id TEXT NOT NULL,
    first_at REAL NOT NULL, last_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_try REAL NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS pattern_aggregate_open
    ON pattern_aggregate_group (flow, node, key) WHERE state = 'open';
CREATE TABLE IF NOT EXISTS pattern_aggregate_member (
    group_id INTEGER NOT NULL, seq INTEGER NOT NULL, msg_id TEXT NOT NULL,
    meta TEXT NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (group_id, msg_id)
);
CREATE INDEX IF NOT EXISTS pattern_aggregate_member_id ON pattern_aggregate_member (msg_id);
CREATE TABLE IF NOT EXISTS pattern_aggregate_seen (
    flow TEXT NOT NULL, node TEXT NOT NULL, msg_id TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (flow, node, msg_id)
);
"""

_MEMBERS = "SELECT meta, body FROM pattern_aggregate_member WHERE group_id = ? ORDER BY seq"

Decide = Callable[[int, Callable[[], list[Message]]], bool]
"""Whether a group is complete, given its size and a way to read its members."""


@dataclass
class Group:
    id: int
    key: str
    state: str
    message_id: str
    members: list[Message]


class Groups:
    """The groups of one aggregate node (`flow`, `node`)."""

    def __init__(self, store: Store, flow: str, node: str) -> None:
        store.ensure_schema("pattern_aggregate", DDL)
        self.store = store
        self.owner = (flow, node)

    def add(self, key: str, msg: Message, now: float, decide: Decide) -> tuple[int, bool] | None:
        """Put `msg` in the open group of `key` (opening one) and settle its completion, all in one
        transaction. Returns (group id, complete), or None if `msg` is a member seen before."""
        with self.store.transaction() as db:
            if self._seen(db, msg.id):
                return None
            row = db.execute(
                "SELECT id FROM pattern_aggregate_group WHERE flow = ? AND node = ? AND key = ? AND state = ?",
                (*self.owner, key, OPEN),
            ).fetchone()
            gid = row[0] if row else self._open(db, key, now)
            (count,) = db.execute(
                "SELECT COUNT(*) + 1 FROM pattern_aggregate_member WHERE group_id = ?", (gid,)
            ).fetchone()
            db.execute(
                "INSERT INTO pattern_aggregate_member VALUES (?, ?, ?, ?, ?)",
                (gid, count, msg.id, envelope(msg), msg.body),
            )
            complete = decide(count, lambda: _members(db, gid))
            db.execute(
                "UPDATE pattern_aggregate_group SET last_at = ?, state = ?, next_try = ? WHERE id = ?",
                (now, COMPLETE if complete else OPEN, now, gid),
            )
        return gid, complete

    def _open(self, db: Connection, key: str, now: float) -> int:
        cur = db.execute(
            "INSERT INTO pattern_aggregate_group (flow, node, key, state, message_id, first_at, last_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*self.owner, key, OPEN, uuid4().hex, now, now),
        )
        return int(cur.lastrowid or 0)

    def _seen(self, db: Connection, msg_id: str) -> bool:
        return bool(
            db.execute(
                "SELECT 1 FROM pattern_aggregate_seen WHERE flow = ? AND node = ? AND msg_id = ?"
                " UNION ALL SELECT 1 FROM pattern_aggregate_member m JOIN pattern_aggregate_group g"
                " ON g.id = m.group_id WHERE m.msg_id = ? AND g.flow = ? AND g.node = ? LIMIT 1",
                (*self.owner, msg_id, msg_id, *self.owner),
            ).fetchone()
        )

    def close_overdue(self, deadline: float, since: str, state: str) -> None:
        """Mark open groups whose `since` ("first_at" or "last_at") is before `deadline` as `state`."""
        column = {"first": "first_at", "last": "last_at"}[since]
        with self.store.transaction() as db:
            db.execute(
                f"UPDATE pattern_aggregate_group SET state = ?, next_try = 0"
                f" WHERE flow = ? AND node = ? AND state = ? AND {column} <= ?",
                (state, *self.owner, OPEN, deadline),
            )

    def due(self, now: float) -> list[int]:
        """Groups waiting to be delivered whose next try is due, oldest first."""
        rows = self.store.query(
            "SELECT id FROM pattern_aggregate_group WHERE flow = ? AND node = ? AND state != ? AND next_try <= ?"
            " ORDER BY id",
            (*self.owner, OPEN, now),
        )
        return [r[0] for r in rows]

    def claim(self, gid: int, now: float) -> Group | None:
        """The group, if it is due to be sent and nobody else is sending it; it is then ours for `LEASE`."""
        with self.store.transaction() as db:
            row = db.execute(
                "UPDATE pattern_aggregate_group SET next_try = ? WHERE id = ? AND state != ? AND next_try <= ?"
                " RETURNING key, state, message_id",
                (now + LEASE, gid, OPEN, now),
            ).fetchone()
            return Group(gid, row[0], row[1], row[2], members=_members(db, gid)) if row else None

    def delivered(self, group: Group, now: float) -> None:
        """Forget a delivered group, remembering its members' ids to drop their redeliveries."""
        with self.store.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO pattern_aggregate_seen VALUES (?, ?, ?, ?)",
                [(*self.owner, m.id, now) for m in group.members],
            )
            db.execute("DELETE FROM pattern_aggregate_member WHERE group_id = ?", (group.id,))
            db.execute("DELETE FROM pattern_aggregate_group WHERE id = ?", (group.id,))

    def failed(self, gid: int, now: float) -> float:
        """Count a failed delivery; returns the seconds until the next try."""
        with self.store.transaction() as db:
            (attempts,) = db.execute(
                "UPDATE pattern_aggregate_group SET attempts = attempts + 1 WHERE id = ? RETURNING attempts", (gid,)
            ).fetchone()
            wait = backoff(attempts)
            db.execute("UPDATE pattern_aggregate_group SET next_try = ? WHERE id = ?", (now + wait, gid))
        return wait

    def forget(self, before: float) -> None:
        """Drop remembered member ids older than `before`."""
        with self.store.transaction() as db:
            db.execute(
                "DELETE FROM pattern_aggregate_seen WHERE flow = ? AND node = ? AND at < ?", (*self.owner, before)
            )


def _members(db: Connection, gid: int) -> list[Message]:
    return [restore(*r) for r in db.execute(_MEMBERS, (gid,))]
