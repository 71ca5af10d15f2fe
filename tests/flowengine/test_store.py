"""The engine's SQLite store: schemas, atomic transactions, durability across reopen."""

from __future__ import annotations

import pytest

from flowengine.services import Services
from flowengine.store import Store

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
