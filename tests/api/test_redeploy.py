"""Redeploys under load: clients post without pause while PUT and rollback swap versions.

Every request must be answered exactly once, with 200, by one version or the
other; every message must reach the flow's memory sink exactly once.
"""

from __future__ import annotations

import asyncio
import collections

from connectors.memory import hub_of
from tests.api.conftest import echo_flow

CLIENTS = 4
SWAPS = [("2", "1"), ("3", "2"), ("rollback", "3"), ("4", "2")]  # (what to do, version serving before it)
PER_VERSION = 100


async def test_swaps_under_load_lose_and_duplicate_nothing(api, admin):
    assert (await admin.put("/api/flows/echo", content=echo_flow("1"))).status_code == 201
    stop = asyncio.Event()
    answers: list[tuple[int, int, str]] = []  # (request id, status, version that answered)

    async def client(n: int) -> None:
        async with api.client(None) as http:
            i = 0
            while not stop.is_set():
                rid = n * 1_000_000 + i
                resp = await http.post("/echo", json={"rid": rid})
                body = resp.json() if resp.status_code == 200 else {}
                assert body.get("rid", rid) == rid  # the answer belongs to this request
                answers.append((rid, resp.status_code, body.get("version", "?")))
                i += 1

    async def served_by(tag: str, since: int) -> None:
        """Let the version in place answer a good number of requests before the next swap."""
        async with asyncio.timeout(30):
            while sum(v == tag for _, _, v in answers[since:]) < PER_VERSION:
                await asyncio.sleep(0.01)

    tasks = [asyncio.create_task(client(n)) for n in range(CLIENTS)]
    swapped_at = 0
    for step, tag in SWAPS:
        await served_by(tag, swapped_at)
        if step == "rollback":
            resp = await admin.post("/api/flows/echo/rollback")
        else:
            resp = await admin.put("/api/flows/echo", content=echo_flow(step))
        assert resp.status_code == 200, resp.text
        swapped_at = len(answers)
    await served_by("4", swapped_at)
    stop.set()
    await asyncio.gather(*tasks)

    statuses = collections.Counter(status for _, status, _ in answers)
    assert statuses == {200: len(answers)}, statuses
    assert {v for _, _, v in answers} == {"1", "2", "3", "4"}
    rids = [rid for rid, _, _ in answers]
    assert len(rids) == len(set(rids))
    copies = hub_of(api.parts.engine.services).received("echo-copies")
    copied = collections.Counter(m.json["rid"] for m in copies)
    assert copied == collections.Counter(rids)  # each message handled exactly once, none lost
    assert [
        (r["version"], r["reason"]) for r in (await admin.get("/api/flows/echo/revisions")).json()["revisions"]
    ] == [
        (1, "deploy"),
        (2, "update"),
        (3, "update"),
        (4, "rollback to v2"),
        (5, "update"),
    ]
    print(f"redeploy under load: {len(answers)} requests, {len(copies)} sink copies, 4 swaps, 0 failed")
