"""The engine's SQLite store: schemas, atomic transactions, durability across reopen."""

from __future__ import annotations

import pytest

from flowengine.errors import StateUnreadable
from flowengine.runtime.services import Services
from flowengine.runtime.store import Store, check_state

DDL = "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL);"


def test_transaction_commits_together_or_not_at_all(tmp_path):
    store = Store(tmp_path / "state.db")
    store.ensure_schema("kv", DDL)
    with store.transaction() as db:
        db.execute("INSERT INTO kv VALUES ('a', '1')")
    with pytest.raises(RuntimeError), store.transaction() as db:
        db.execute("INSERT INTO kv VALUES ('b', '2')")
        raise RuntimeError("crash mid-write")
    assert [tuple(r) for r in store.query("SELECT k, v FROM kv")] == [("a", "1")]
    store.close()
    reopened = Store(tmp_path / "state.db")
    reopened.ensure_schema("kv", DDL)
    assert [r["k"] for r in reopened.query("SELECT k FROM kv")] == ["a"]
    reopened.close()


def test_services_open_the_store_lazily(tmp_path):
    services = Services(tmp_path / "sub" / "engine.db")
    assert not (tmp_path / "sub").exists()
    services.store.ensure_schema("kv", DDL)
    assert (tmp_path / "sub" / "engine.db").exists()
    services.close()


def _written_store(path) -> bytes:
    """A closed store holding a few rows, as its bytes on disk."""
    store = Store(path)
    store.ensure_schema("kv", DDL)
    with store.transaction() as db:
        db.executemany("INSERT INTO kv VALUES (?, ?)", [(str(i), "x" * 2000) for i in range(40)])
    store.close()
    return path.read_bytes()


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda data: b"", "is empty (0 bytes)"),
        (lambda data: data[: len(data) // 2], "is truncated ({size} bytes of {whole})"),
        (lambda data: b"\0" * 100 + data[100:], "is not a SQLite database (its header is missing or broken)"),
    ],
    ids=["empty", "half", "broken-header"],
)
def test_a_damaged_state_file_is_refused_and_left_as_it_is(tmp_path, damage, problem):
    path = tmp_path / "state.db"
    whole = _written_store(path)
    damaged = damage(whole)
    path.write_bytes(damaged)
    with pytest.raises(StateUnreadable) as caught:
        Store(path)
    assert str(caught.value) == (
        f"state file {path} {problem.format(size=len(damaged), whole=len(whole))}; restore it from a backup, or start with --state naming a new file "
        "(the file was left as it is)"
    )
    assert path.read_bytes() == damaged and sorted(p.name for p in tmp_path.iterdir()) == ["state.db"]


def test_a_missing_state_file_is_created_and_a_whole_one_is_accepted(tmp_path):
    path = tmp_path / "state.db"
    check_state(path)
    _written_store(path)
    check_state(path)
    reopened = Store(path)
    assert len(reopened.query("SELECT k FROM kv")) == 40
    reopened.close()
