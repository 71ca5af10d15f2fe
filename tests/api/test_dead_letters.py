"""Dead letters over the API: list, show with explanation, replay after the fix, purge; roles."""

from __future__ import annotations

import base64

from tests.api.conftest import ApiServer
from tests.conftest import Upstream


def billing(url: str) -> str:
    return f"""flow billing {{
  source web = http.listen(path: "/bill")
  sink call = http.request(url: "{url}/invoices", timeout: 2, retry: {{attempts: 2, delay: "1ms"}})
  sink parked = dead_letter()
  web -> call
  on error -> parked
}}
"""


async def test_park_list_show_replay_purge(api: ApiServer, upstream: tuple[Upstream, str]):
    service, url = upstream
    service.statuses = [500]
    admin, viewer = api.client("admin"), api.client("viewer")
    async with admin, viewer:
        deployed = await admin.post("/api/flows", content=billing(url), headers={"content-type": "text/plain"})
        assert deployed.status_code == 201
        for i in range(3):
            parked = await admin.post("/bill", json={"invoice": i})
            assert parked.status_code == 502  # parked, and the caller is told the delivery failed
        listing = await viewer.get("/api/flows/billing/dead-letters")
        assert listing.status_code == 200 and len(listing.json()) == 3
        first = listing.json()[0]
        assert (first["node"], first["source"], first["attempts"], first["error"]["type"]) == (
            "call", "web", 2, "delivery_failed",
        )
        assert base64.b64decode(first["message"]["body_base64"]) == b'{"invoice":0}'
        assert first["message"]["body_text"] == '{"invoice":0}'
        assert (first["message"]["attributes"]["http.path"], first["message"]["attributes"]["http.method"]) == (
            "/bill", "POST",
        )
        shown = await viewer.get(f"/api/flows/billing/dead-letters/{first['id']}")
        assert shown.json()["explanation"].startswith(f"dead letter {first['id']} of flow 'billing'")
        assert (await viewer.post("/api/flows/billing/dead-letters/replay")).status_code == 403
        service.statuses = [200]
        service.calls.clear()
        replayed = await admin.post("/api/flows/billing/dead-letters/replay", json={"ids": [first["id"]]})
        assert replayed.json() == {"selected": 1, "delivered": [first["id"]], "parked_again": [], "failed": []}
        assert service.calls == [b'{"invoice":0}']
        rest = await admin.post("/api/flows/billing/dead-letters/replay")
        assert len(rest.json()["delivered"]) == 2
        assert (await viewer.get("/api/flows/billing/dead-letters")).json() == []
        assert len((await viewer.get("/api/flows/billing/dead-letters?status=all")).json()) == 3
        assert (await viewer.delete("/api/flows/billing/dead-letters")).status_code == 403
        assert (await admin.delete("/api/flows/billing/dead-letters")).json() == {"deleted": 3}
        assert (await viewer.get("/api/flows/billing/dead-letters/999")).status_code == 404
        assert (await viewer.get("/api/flows/nope/dead-letters")).status_code == 404
