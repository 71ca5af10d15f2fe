"""Deployments persist: a new engine on the same state file runs what the old one ran."""

from __future__ import annotations

import sqlite3

import pytest

from flowengine.api.deployments import Deployments
from flowengine.runtime.store import Store
from tests.api.conftest import HELLO, ApiServer, echo_flow

TEXT = {"content-type": "text/plain"}


async def test_restart_restores_flows_versions_status_and_history(tmp_path):
    state = tmp_path / "state.db"
    first = await ApiServer(state).start()
    async with first.client() as client:
        await client.put("/api/flows/echo", content=echo_flow("1"), headers=TEXT)
        await client.put("/api/flows/echo", content=echo_flow("2"), headers=TEXT)
        await client.put("/api/flows/hello", content=HELLO, headers=TEXT)
        await client.put("/api/flows/paused", content=echo_flow("p", "paused", "/paused"), headers=TEXT)
        await client.post("/api/flows/hello/stop")
        await client.post("/api/flows/paused/pause")
        before = (await client.get("/api/flows")).json()
    await first.stop()

    second = await ApiServer(state).start()
    try:
        async with second.client() as client:
            assert (await client.get("/api/flows")).json()["flows"] == [{**f, "in_flight": 0} for f in before["flows"]]
            statuses = {f["name"]: (f["version"], f["status"]) for f in before["flows"]}
            assert statuses == {"echo": (2, "started"), "hello": (1, "stopped"), "paused": (1, "paused")}
            assert (await client.post("/echo", json={"a": 1})).json() == {"a": 1, "version": "2"}
            assert (await client.post("/hello", json={})).status_code == 404
            assert (await client.post("/paused", json={})).status_code == 404
            assert len((await client.get("/api/flows/echo/revisions")).json()["revisions"]) == 2
            await client.post("/api/flows/paused/resume")
            assert (await client.post("/paused", json={})).json()["version"] == "p"
            rolled = await client.post("/api/flows/echo/rollback")  # history survived: v1 is still there
            assert rolled.json()["version"] == 3
            assert (await client.post("/echo", json={})).json()["version"] == "1"
    finally:
        await second.stop()


async def test_a_flow_that_cannot_be_restored_shows_failed_and_starts_later(tmp_path, monkeypatch):
    state = tmp_path / "state.db"
    monkeypatch.setenv("ECHO_TAG", "from-env")
    text = echo_flow("1").replace('http.listen(path: "/echo")', 'http.listen(path: "/${ECHO_TAG}")')
    first = await ApiServer(state).start()
    async with first.client() as client:
        assert (await client.post("/api/flows", content=text, headers=TEXT)).status_code == 201
        assert (await client.post("/from-env", json={})).status_code == 200
    await first.stop()

    monkeypatch.delenv("ECHO_TAG")
    second = await ApiServer(state).start()
    try:
        async with second.client() as client:
            flow = (await client.get("/api/flows/echo")).json()
            assert flow["status"] == "failed"
            assert flow["error"] == "<request>:2:34: E140 environment variable 'ECHO_TAG' is not set"
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["flows"] == [{"name": "echo", "status": "failed", "ready": False, "disconnected": []}]
            assert (await client.post("/api/flows/echo/start")).status_code == 422
            monkeypatch.setenv("ECHO_TAG", "again")
            assert (await client.post("/api/flows/echo/start")).json()["status"] == "started"
            assert (await client.post("/again", json={})).status_code == 200
            assert (await client.get("/readyz")).status_code == 200
    finally:
        await second.stop()


def test_a_write_interrupted_mid_way_leaves_the_previous_revision(tmp_path):
    store = Store(tmp_path / "state.db")
    deployments = Deployments(store)
    deployments.record("echo", echo_flow("1"), "echo.flow", reason="deploy", previous=None, status="started")
    with pytest.raises(sqlite3.IntegrityError):  # the revision row is written, then the flow row fails
        deployments.record("echo", echo_flow("2"), "echo.flow", reason="update", previous=1, status="bogus")  # type: ignore[arg-type]
    current = deployments.get("echo")
    assert current is not None and current.revision.version == 1 and current.revision.source == echo_flow("1")
    assert [r.version for r in deployments.revisions("echo")] == [1]
    store.close()
