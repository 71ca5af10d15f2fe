"""The dead-letter store: one row per parked message, in the engine's SQLite store.

The envelope (what `show` prints and the API returns):

    {"id", "flow", "revision", "node", "source", "status": "parked"|"replayed",
     "error": {"type", "message", "details"}, "attempts",
     "first_failure", "last_failure" (ISO 8601 UTC), "trace_id",
     "message": {"id", "content_type", "headers", "attributes", "body_base64", "body_text", "size"},
     "history": [{"revision", "node", "error", "attempts", "first_failure", "last_failure"}, ...]}

`node` is the node that failed, `source` the source node the message entered
by (a replay enters there again), `attempts` the tries at the failing node.
`attributes` are the source's (an MQTT topic, an AMQP routing key, an HTTP path
and query, an MLLP peer): a replay gives them back, since the flow reads them.
`body_text` is the body when it is UTF-8 text, else null. `history` lists the
earlier failures of a letter that was replayed and parked again, oldest first.

State files from before `attributes` and `history` existed are migrated when
opened (columns added); their rows read as no attributes and no history.
"""

from __future__ import annotations

import base64
import builtins
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from flowengine.core.message import Message
from flowengine.errors import MessageError
from flowengine.observe.tracing import trace_id
from flowengine.runtime.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    flow TEXT NOT NULL,
    revision TEXT NOT NULL,
    node TEXT NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'parked',
    error_type TEXT NOT NULL,
    error_message TEXT NOT NULL,
    error_details TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    first_failure REAL NOT NULL,
    last_failure REAL NOT NULL,
    trace_id TEXT,
    message_id TEXT NOT NULL,
    content_type TEXT NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_flow ON dead_letters (flow, status, id);
"""
# Columns added after the first release: ALTERed into older state files (see ensure_columns).
ADDED_COLUMNS = {
    "attributes": "TEXT NOT NULL DEFAULT '{}'",
    "history": "TEXT NOT NULL DEFAULT '[]'",
}


@dataclass(frozen=True)
class DeadLetter:
    id: int
    flow: str
    revision: str
    node: str
    source: str
    status: str
    error_type: str
    error_message: str
    error_details: list[dict[str, Any]]
    attempts: int
    first_failure: float
    last_failure: float
    trace_id: str | None
    message_id: str
    content_type: str
    headers: dict[str, str]
    body: bytes
    attributes: dict[str, Any]
    history: list[dict[str, Any]]

    def envelope(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "flow": self.flow,
            "revision": self.revision,
            "node": self.node,
            "source": self.source,
            "status": self.status,
            "error": {"type": self.error_type, "message": self.error_message, "details": self.error_details},
            "attempts": self.attempts,
            "first_failure": _iso(self.first_failure),
            "last_failure": _iso(self.last_failure),
            "trace_id": self.trace_id,
            "message": {
                "id": self.message_id,
                "content_type": self.content_type,
                "headers": self.headers,
                "attributes": self.attributes,
                "body_base64": base64.b64encode(self.body).decode("ascii"),
                "body_text": self.body_text(),
                "size": len(self.body),
            },
            "history": self.history,
        }

    def body_text(self) -> str | None:
        """The body as text when it is UTF-8, else None (then only base64 shows it faithfully)."""
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def failure(self) -> dict[str, Any]:
        """This letter's own failure, as one entry of a later letter's history."""
        return {
            "revision": self.revision,
            "node": self.node,
            "error": {"type": self.error_type, "message": self.error_message, "details": self.error_details},
            "attempts": self.attempts,
            "first_failure": _iso(self.first_failure),
            "last_failure": _iso(self.last_failure),
        }

    def explain(self) -> str:
        """One paragraph a person can act on, from the envelope alone."""
        tries = "1 attempt" if self.attempts == 1 else f"{self.attempts} attempts"
        return (
            f"dead letter {self.id} of flow '{self.flow}' (revision {self.revision}): node '{self.node}' failed "
            f"with {self.error_type} after {tries}: {self.error_message}. First failure {_iso(self.first_failure)}, "
            f"last {_iso(self.last_failure)}; message {self.message_id} ({self.content_type}, {len(self.body)} bytes) "
            f"entered at '{self.source}'"
            + (f"; trace {self.trace_id}" if self.trace_id else "")
            + "."
            + (f" It had failed {len(self.history)} time(s) before (history)." if self.history else "")
        )

    def to_message(self) -> Message:
        """The original message again, for a replay (one more delivery attempt): body,
        headers and the source's attributes; its exchange remembers this letter's failures,
        so that parking it again keeps them in the new letter's history."""
        msg = Message(
            self.body,
            content_type=self.content_type,
            headers=dict(self.headers),
            attributes=dict(self.attributes),
            id=self.message_id,
            traceparent=self.headers.get("traceparent"),
        )
        msg.exchange.history = (*self.history, self.failure())
        return msg


@dataclass(frozen=True)
class Selection:
    """The parked letters a replay takes, fixed when it starts: `upto` is the highest id then,
    so a letter parked again during the replay (a new id) is not taken a second time."""

    flow: str
    ids: tuple[int, ...] | None
    upto: int
    total: int

    def where(self) -> tuple[str, tuple[object, ...]]:
        sql = "flow = ? AND status = 'parked' AND id <= ?"
        params: tuple[object, ...] = (self.flow, self.upto)
        if self.ids is not None:
            sql += f" AND id IN ({','.join('?' * len(self.ids))})"
            params += self.ids
        return sql, params


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DeadLetterStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.ensure_schema("dead_letters", SCHEMA)
        store.ensure_columns("dead_letters", ADDED_COLUMNS)

    def park(self, flow: str, revision: str, original: Message, source: str, error: MessageError) -> int:
        headers = dict(original.headers)
        if original.traceparent:
            headers.setdefault("traceparent", original.traceparent)
        with self.store.transaction() as db:
            cur = db.execute(
                "INSERT INTO dead_letters (flow, revision, node, source, error_type, error_message, error_details,"
                " attempts, first_failure, last_failure, trace_id, message_id, content_type, headers, body,"
                " attributes, history)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    flow, revision, error.node or "?", source, error.kind, error.message,
                    orjson.dumps(error.details).decode(), error.attempts, error.first_failure, time.time(),
                    trace_id(original.traceparent), original.id, original.content_type,
                    orjson.dumps(headers).decode(), original.body,
                    orjson.dumps(original.attributes, default=str).decode(),
                    orjson.dumps(original.exchange.history).decode(),
                ),
            )  # fmt: skip
            return int(cur.lastrowid or 0)

    def list(self, flow: str, status: str | None = "parked", limit: int = 100, after: int = 0) -> list[DeadLetter]:
        """One page, in id order: at most `limit` letters with an id above `after` (the cursor:
        the last id of the previous page). `total` says how many there are in all."""
        where = "flow = ? AND id > ?" + (" AND status = ?" if status else "")
        params: tuple[object, ...] = (flow, after, status) if status else (flow, after)
        rows = self.store.query(f"SELECT * FROM dead_letters WHERE {where} ORDER BY id LIMIT ?", (*params, limit))
        return [_row(r) for r in rows]

    def total(self, flow: str, status: str | None = "parked") -> int:
        """How many letters a listing with this status has in all pages."""
        if status is None:
            rows = self.store.query("SELECT COUNT(*) AS n FROM dead_letters WHERE flow = ?", (flow,))
            return int(rows[0]["n"])
        return self.count(flow, status)

    def select(self, flow: str, ids: builtins.list[int] | None = None) -> Selection:
        """Every parked letter of the flow (or those of `ids` that are parked), for a replay."""
        chosen = tuple(sorted(set(ids))) if ids is not None else None
        probe = Selection(flow, chosen, 2**63 - 1, 0)
        where, params = probe.where()
        row = self.store.query(f"SELECT COUNT(*) AS n, MAX(id) AS upto FROM dead_letters WHERE {where}", params)[0]
        return Selection(flow, chosen, int(row["upto"] or 0), int(row["n"]))

    def batches(self, selection: Selection, size: int = 500) -> Iterator[builtins.list[DeadLetter]]:
        """The selection's letters in id order, `size` at a time; a letter replayed (or
        left parked) meanwhile is behind the cursor and not read again."""
        where, params = selection.where()
        after = 0
        while True:
            rows = self.store.query(
                f"SELECT * FROM dead_letters WHERE {where} AND id > ? ORDER BY id LIMIT ?", (*params, after, size)
            )
            if not rows:
                return
            letters = [_row(r) for r in rows]
            yield letters
            after = letters[-1].id

    def get(self, flow: str, ids: builtins.list[int]) -> builtins.list[DeadLetter]:
        marks = ",".join("?" * len(ids))
        rows = self.store.query(
            f"SELECT * FROM dead_letters WHERE flow = ? AND id IN ({marks}) ORDER BY id", (flow, *ids)
        )
        return [_row(r) for r in rows]

    def mark_replayed(self, ids: builtins.list[int]) -> None:
        """One transaction for a replay's batch: a commit per letter (a disk sync each) would
        make a large replay crawl."""
        with self.store.transaction() as db:
            db.executemany("UPDATE dead_letters SET status = 'replayed' WHERE id = ?", [(i,) for i in ids])

    def purge(self, flow: str, ids: builtins.list[int] | None = None) -> int:
        with self.store.transaction() as db:
            if ids is None:
                cur = db.execute("DELETE FROM dead_letters WHERE flow = ?", (flow,))
            else:
                marks = ",".join("?" * len(ids))
                cur = db.execute(f"DELETE FROM dead_letters WHERE flow = ? AND id IN ({marks})", (flow, *ids))
            return cur.rowcount

    def count(self, flow: str, status: str = "parked") -> int:
        rows = self.store.query("SELECT COUNT(*) AS n FROM dead_letters WHERE flow = ? AND status = ?", (flow, status))
        return int(rows[0]["n"])


def _row(r: Any) -> DeadLetter:
    return DeadLetter(
        id=r["id"], flow=r["flow"], revision=r["revision"], node=r["node"], source=r["source"],
        status=r["status"], error_type=r["error_type"], error_message=r["error_message"],
        error_details=orjson.loads(r["error_details"]), attempts=r["attempts"], first_failure=r["first_failure"],
        last_failure=r["last_failure"], trace_id=r["trace_id"], message_id=r["message_id"],
        content_type=r["content_type"], headers=orjson.loads(r["headers"]), body=bytes(r["body"]),
        attributes=orjson.loads(r["attributes"]), history=orjson.loads(r["history"]),
    )  # fmt: skip
