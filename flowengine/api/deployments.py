"""The persisted registry of deployed flows: what to run after a restart, and every revision.

Two tables in the engine's store: `deployed_flows` (one row per flow: current
revision and wanted status) and `flow_revisions` (every source ever deployed,
with its SHA-256, time, file name, why it was made, and the revision a rollback
from it returns to). Each change is one transaction, so a crash mid-deploy
leaves the previous revision current: the caller starts the new version first
and records it only once it runs.
"""

from __future__ import annotations

import hashlib
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from flowengine.runtime.store import Store

Wanted = Literal["started", "stopped", "paused"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS deployed_flows (
    name       TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('started', 'stopped', 'paused')),
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS flow_revisions (
    flow       TEXT NOT NULL,
    version    INTEGER NOT NULL,
    hash       TEXT NOT NULL,
    source     TEXT NOT NULL,
    file       TEXT NOT NULL,
    created_at TEXT NOT NULL,
    reason     TEXT NOT NULL,
    previous   INTEGER,
    PRIMARY KEY (flow, version)
)
"""


def content_hash(source: str) -> str:
    return hashlib.sha256(source.encode()).hexdigest()


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Revision:
    flow: str
    version: int
    hash: str
    source: str
    file: str
    created_at: str
    reason: str
    previous: int | None


@dataclass(frozen=True)
class Deployment:
    """A flow's row: its current revision and the status it should have."""

    name: str
    status: Wanted
    updated_at: str
    revision: Revision


class Deployments:
    def __init__(self, store: Store) -> None:
        self._store = store
        store.ensure_schema("api.deployments", SCHEMA)

    def all(self) -> list[Deployment]:
        rows = self._store.query(
            "SELECT f.name, f.status, f.updated_at, r.* FROM deployed_flows f "
            "JOIN flow_revisions r ON r.flow = f.name AND r.version = f.version ORDER BY f.name"
        )
        return [_deployment(row) for row in rows]

    def get(self, name: str) -> Deployment | None:
        rows = self._store.query(
            "SELECT f.name, f.status, f.updated_at, r.* FROM deployed_flows f "
            "JOIN flow_revisions r ON r.flow = f.name AND r.version = f.version WHERE f.name = ?",
            (name,),
        )
        return _deployment(rows[0]) if rows else None

    def revisions(self, name: str) -> list[Revision]:
        rows = self._store.query("SELECT * FROM flow_revisions WHERE flow = ? ORDER BY version", (name,))
        return [_revision(row) for row in rows]

    def revision(self, name: str, version: int) -> Revision | None:
        rows = self._store.query("SELECT * FROM flow_revisions WHERE flow = ? AND version = ?", (name, version))
        return _revision(rows[0]) if rows else None

    def record(
        self, name: str, source: str, file: str, *, reason: str, previous: int | None, status: Wanted
    ) -> Deployment:
        """Store a new revision and make it current, in one transaction."""
        stamp = now()
        with self._store.transaction() as db:
            (latest,) = db.execute("SELECT MAX(version) FROM flow_revisions WHERE flow = ?", (name,)).fetchone()
            version = (latest or 0) + 1
            db.execute(
                "INSERT INTO flow_revisions (flow, version, hash, source, file, created_at, reason, previous) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (name, version, content_hash(source), source, file, stamp, reason, previous),
            )
            db.execute(
                "INSERT INTO deployed_flows (name, version, status, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET version = excluded.version, status = excluded.status, "
                "updated_at = excluded.updated_at",
                (name, version, status, stamp),
            )
        found = self.get(name)
        assert found is not None
        return found

    def set_status(self, name: str, status: Wanted) -> None:
        with self._store.transaction() as db:
            db.execute("UPDATE deployed_flows SET status = ?, updated_at = ? WHERE name = ?", (status, now(), name))

    def delete(self, name: str) -> None:
        """Forget the flow and its history."""
        with self._store.transaction() as db:
            db.execute("DELETE FROM deployed_flows WHERE name = ?", (name,))
            db.execute("DELETE FROM flow_revisions WHERE flow = ?", (name,))


def _revision(r: sqlite3.Row) -> Revision:
    return Revision(
        r["flow"], r["version"], r["hash"], r["source"], r["file"], r["created_at"], r["reason"], r["previous"]
    )


def _deployment(r: sqlite3.Row) -> Deployment:
    return Deployment(r["name"], r["status"], r["updated_at"], _revision(r))
