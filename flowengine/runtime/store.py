"""The engine's own store: one SQLite database for everything the engine must remember.

Deployed flows, dead letters, idempotency keys and aggregation groups all live
here, each subsystem in tables it creates through `ensure_schema`. SQLite in
WAL mode with `synchronous=FULL` on commit: a write that returned survives a
`kill -9`, and a transaction interrupted by a crash leaves the previous state.
Operations are small and indexed, so they run on the event loop's thread; a
subsystem that needs bulk work runs it in a thread with its own connection.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from flowengine.errors import StateUnreadable

MEMORY = ":memory:"
HEADER = b"SQLite format 3\x00"


def check_state(path: str | Path) -> None:
    """Refuse an existing state file that is not a whole SQLite database, without writing to it.

    SQLite takes a zero-length file for a new, empty database, so an emptied state would start
    the engine with no deployments and no warning; a truncated one fails later with "database
    disk image is malformed". Raises `StateUnreadable`; a path that does not exist is fine (a
    new store is created there).
    """
    where = Path(path)
    if str(path) == MEMORY or not where.exists():
        return
    try:
        with where.open("rb") as fh:
            header = fh.read(100)
        size = where.stat().st_size
    except OSError as err:
        raise StateUnreadable(str(path), f"cannot be read ({err.strerror or err})") from None
    if size == 0:
        raise StateUnreadable(str(path), "is empty (0 bytes)")
    if len(header) < 100 or not header.startswith(HEADER):
        raise StateUnreadable(str(path), "is not a SQLite database (its header is missing or broken)")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    if header[24:28] == header[92:96] and size < pages * page_size:
        raise StateUnreadable(str(path), f"is truncated ({size} bytes of {pages * page_size})")
    if not os.access(where, os.R_OK | os.W_OK):
        raise StateUnreadable(str(path), "is not readable and writable by this user")
    try:
        with closing(sqlite3.connect(f"{where.resolve().as_uri()}?mode=ro", uri=True)) as db:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as err:
        raise StateUnreadable(str(path), f"cannot be read as a database ({err})") from None


class Store:
    def __init__(self, path: str | Path = MEMORY) -> None:
        self.path = str(path)
        if self.path != MEMORY:
            check_state(self.path)
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._lock = threading.RLock()
        self._schemas: set[str] = set()

    def ensure_schema(self, name: str, ddl: str) -> None:
        """Create a subsystem's tables once per process (idempotent DDL: IF NOT EXISTS)."""
        if name in self._schemas:
            return
        with self.transaction() as db:
            for statement in _statements(ddl):  # executescript would commit our transaction
                db.execute(statement)
        self._schemas.add(name)

    def ensure_columns(self, table: str, columns: dict[str, str]) -> None:
        """Add the columns (name -> SQL type and default) a newer version gave `table` to a
        state file an older version created: existing rows read the column's default."""
        with self.transaction() as db:
            have = {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}
            for name, ddl in columns.items():
                if name not in have:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {ddl}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All statements inside commit together or not at all."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, params: tuple[object, ...] | dict[str, object] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _statements(ddl: str) -> list[str]:
    return [s.strip() for s in ddl.split(";") if s.strip()]
