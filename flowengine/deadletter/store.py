"""The dead-letter store: one row per parked message, in the engine's SQLite store.

The envelope (what `show` prints and the API returns):

    {"id", "flow", "revision", "node", "source", "status": "parked"|"replayed",
     "error": {"type", "message", "details"}, "attempts",
     "first_failure", "last_failure" (ISO 8601 UTC), "trace_id",
     "message": {"id", "content_type", "headers", "body_base64", "size"}}

`node` is the node that failed, `source` the source node the message entered
by (a replay enters there again), `attempts` the tries at the failing node.
"""

from __future__ import annotations

import base64
import builtins
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from flowengine.errors import MessageError
from flowengine.message import Message
from flowengine.store import Store
from flowengine.tracing import trace_id

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
                "body_base64": base64.b64encode(self.body).decode("ascii"),
                "size": len(self.body),
            },
        }

    def explain(self) -> str:
        """One paragraph a person can act on, from the envelope alone."""
        tries = "1 attempt" if self.attempts == 1 else f"{self.attempts} attempts"
        return (
            f"dead letter {self.id} of flow '{self.flow}' (revision {self.revision}): node '{self.node}' failed "
            f"with {self.error_type} after {tries}: {self.error_message}. First failure {_iso(self.first_failure)}, "
            f"last {_iso(self.last_failure)}; message {self.message_id} ({self.content_type}, {len(self.body)} bytes) "
            f"entered at '{self.source}'" + (f"; trace {self.trace_id}" if self.trace_id else "") + "."
        )

    def to_message(self) -> Message:
        """The original message again, for a replay (one more delivery attempt)."""
        return Message(
            self.body,
            content_type=self.content_type,
            headers=dict(self.headers),
            id=self.message_id,
            traceparent=self.headers.get("traceparent"),
        )


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class DeadLetterStore:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.ensure_schema("dead_letters", SCHEMA)

    def park(self, flow: str, revision: str, original: Message, source: str, error: MessageError) -> int:
        headers = dict(original.headers)
        if original.traceparent:
            headers.setdefault("traceparent", original.traceparent)
        with self.store.transaction() as db:
            cur = db.execute(
                "INSERT INTO dead_letters (flow, revision, node, source, error_type, error_message, error_details,"
                " attempts, first_failure, last_failure, trace_id, message_id, content_type, headers, body)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    flow, revision, error.node or "?", source, error.kind, error.message,
                    orjson.dumps(error.details).decode(), error.attempts, error.first_failure, time.time(),
                    trace_id(original.traceparent), original.id, original.content_type,
                    orjson.dumps(headers).decode(), original.body,
                ),
            )  # fmt: skip
            return int(cur.lastrowid or 0)

    def list(self, flow: str, status: str | None = "parked", limit: int = 1000) -> list[DeadLetter]:
        sql = (
            "SELECT * FROM dead_letters WHERE flow = ?" + (" AND status = ?" if status else "") + " ORDER BY id LIMIT ?"
        )
        params: tuple[object, ...] = (flow, status, limit) if status else (flow, limit)
        return [_row(r) for r in self.store.query(sql, params)]

    def get(self, flow: str, ids: builtins.list[int]) -> builtins.list[DeadLetter]:
        marks = ",".join("?" * len(ids))
        rows = self.store.query(
            f"SELECT * FROM dead_letters WHERE flow = ? AND id IN ({marks}) ORDER BY id", (flow, *ids)
        )
        return [_row(r) for r in rows]

    def mark_replayed(self, letter_id: int) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE dead_letters SET status = 'replayed' WHERE id = ?", (letter_id,))

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
    )  # fmt: skip
