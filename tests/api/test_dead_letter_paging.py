"""2,002 dead letters over the API: pages with X-Total-Count and a Link to the next page,
and a replay that takes every one."""

from __future__ import annotations

from tests.api.conftest import ApiServer
from tests.flowengine.test_dead_letter_paging import COUNT, FLOW, park_many


async def test_api_pages_with_total_and_link_and_replays_every_letter(api: ApiServer):
    assert api.parts is not None
    async with api.client("admin") as admin:
        deployed = await admin.post("/api/flows", content=FLOW, headers={"content-type": "text/plain"})
        assert deployed.status_code == 201
        park_many(api.parts.manager.engine.services.store)
        seen: list[int] = []
        url: str | None = "/api/flows/bulk/dead-letters?limit=500"
        while url is not None:
            page = await admin.get(url)
            assert page.status_code == 200 and page.headers["x-total-count"] == str(COUNT)
            seen += [letter["id"] for letter in page.json()]
            assert page.json()[0]["message"]["attributes"] == {"n": len(seen) - len(page.json())}
            link = page.headers.get("link")
            url = link[1 : link.index(">")] if link else None
        assert seen == sorted(set(seen)) and len(seen) == COUNT
        default = await admin.get("/api/flows/bulk/dead-letters")
        assert len(default.json()) == 100 and 'rel="next"' in default.headers["link"]
        replayed = await admin.post("/api/flows/bulk/dead-letters/replay")
        result = replayed.json()
        assert result["selected"] == COUNT and len(result["delivered"]) == COUNT
        assert result["parked_again"] == [] and result["failed"] == []
        left = await admin.get("/api/flows/bulk/dead-letters")
        assert left.json() == [] and left.headers["x-total-count"] == "0" and "link" not in left.headers
