"""The resequencer's streams, kept in the engine's store: per key, the next sequence
number to send and the messages that arrived ahead of it.

Storing a message and reading the stream's position happen in one transaction,
and a sent message is removed in the same transaction that moves the position
on, so after a restart the stream resumes exactly where it stopped; at worst the
one message that was being sent at the crash is sent again (at-least-once).
"""

from __future__ import annotations

from enum import StrEnum

from flowengine.core.message import Message
from flowengine.kinds.patterns._durable import LEASE, backoff, envelope, log, restore
from flowengine.runtime.store import Store

DDL = """
CREATE TABLE IF NOT EXISTS pattern_resequence_stream (
    flow TEXT NOT NULL, node TEXT NOT NULL, key TEXT NOT NULL, next_seq INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0, next_try REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (flow, node, key)
);
CREATE TABLE IF NOT EXISTS pattern_resequence_buffer (
    flow TEXT NOT NULL, node TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL,
    at REAL NOT NULL, meta TEXT NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (flow, node, key, seq)
);
"""


class Added(StrEnum):
    STORED = "stored"
    LATE = "late"  # behind the stream's position: already sent, or given up on
    DUPLICATE = "duplicate"  # the same sequence number is already waiting


class Streams:
    """The streams of one resequence node (`flow`, `node`)."""

    def __init__(self, store: Store, flow: str, node: str) -> None:
        store.ensure_schema("pattern_resequence", DDL)
        self.store = store
        self.owner = (flow, node)

    def add(self, key: str, seq: int, msg: Message, now: float, start: int | None) -> tuple[Added, int]:
        """Buffer `msg` as number `seq` of stream `key` (which starts at `start`, or at the first
        number it sees). Returns the verdict and the number the stream expects next."""
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT next_seq FROM pattern_resequence_stream WHERE flow = ? AND node = ? AND key = ?",
                (*self.owner, key),
            ).fetchone()
            expected = row[0] if row else (seq if start is None else start)
            if row is None:
                db.execute(
                    "INSERT INTO pattern_resequence_stream (flow, node, key, next_seq) VALUES (?, ?, ?, ?)",
                    (*self.owner, key, expected),
                )
            if seq < expected:
                return Added.LATE, expected
            cur = db.execute(
                "INSERT OR IGNORE INTO pattern_resequence_buffer VALUES (?, ?, ?, ?, ?, ?, ?)",
                (*self.owner, key, seq, now, envelope(msg), msg.body),
            )
            return (Added.STORED if cur.rowcount else Added.DUPLICATE), expected

    def head(self, key: str, now: float, window: int | None, timeout: float | None) -> tuple[int, Message] | None:
        """The message to send next, claimed for `LEASE`; None while the stream waits (for a missing
        number, to retry a failed send, or for another sender's claim). A gap is given up on once
        `window` messages wait behind it or the oldest of them has waited `timeout` seconds."""
        with self.store.transaction() as db:
            expected, next_try = db.execute(
                "SELECT next_seq, next_try FROM pattern_resequence_stream WHERE flow = ? AND node = ? AND key = ?",
                (*self.owner, key),
            ).fetchone()
            if now < next_try:
                return None
            seq, meta, body, waiting, oldest = db.execute(
                "SELECT seq, meta, body, COUNT(*) OVER (), MIN(at) OVER () FROM pattern_resequence_buffer"
                " WHERE flow = ? AND node = ? AND key = ? ORDER BY seq LIMIT 1",
                (*self.owner, key),
            ).fetchone() or (None, None, None, 0, None)
            if seq is None:
                return None
            if seq != expected:
                full = window is not None and waiting >= window
                stale = timeout is not None and oldest is not None and now - oldest >= timeout
                if not (full or stale):
                    return None
                log.warning(
                    "flow %s: %s gave up waiting for %s of stream '%s' (%s); sending %d",
                    *self.owner,
                    _range(expected, seq - 1),
                    key,
                    "window full" if full else "timed out",
                    seq,
                )
                db.execute(
                    "UPDATE pattern_resequence_stream SET next_seq = ? WHERE flow = ? AND node = ? AND key = ?",
                    (seq, *self.owner, key),
                )
            db.execute(
                "UPDATE pattern_resequence_stream SET next_try = ? WHERE flow = ? AND node = ? AND key = ?",
                (now + LEASE, *self.owner, key),
            )
            assert meta is not None and body is not None
            return seq, restore(meta, body)

    def sent(self, key: str, seq: int) -> None:
        with self.store.transaction() as db:
            db.execute(
                "DELETE FROM pattern_resequence_buffer WHERE flow = ? AND node = ? AND key = ? AND seq = ?",
                (*self.owner, key, seq),
            )
            db.execute(
                "UPDATE pattern_resequence_stream SET next_seq = ?, attempts = 0, next_try = 0"
                " WHERE flow = ? AND node = ? AND key = ?",
                (seq + 1, *self.owner, key),
            )

    def failed(self, key: str, now: float) -> float:
        """Count a failed send; the stream waits before trying again. Returns the wait."""
        with self.store.transaction() as db:
            (attempts,) = db.execute(
                "UPDATE pattern_resequence_stream SET attempts = attempts + 1"
                " WHERE flow = ? AND node = ? AND key = ? RETURNING attempts",
                (*self.owner, key),
            ).fetchone()
            wait = backoff(attempts)
            db.execute(
                "UPDATE pattern_resequence_stream SET next_try = ? WHERE flow = ? AND node = ? AND key = ?",
                (now + wait, *self.owner, key),
            )
        return wait

    def waiting(self) -> list[str]:
        """Keys of streams holding messages."""
        rows = self.store.query(
            "SELECT DISTINCT key FROM pattern_resequence_buffer WHERE flow = ? AND node = ?", self.owner
        )
        return [r[0] for r in rows]


def _range(first: int, last: int) -> str:
    return f"number {first}" if first == last else f"numbers {first}..{last}"
