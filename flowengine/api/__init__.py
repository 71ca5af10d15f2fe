"""The management REST API of `flowengine serve` (FastAPI).

app.py           the one ASGI app: API routes first, flow endpoints last
auth.py          bearer tokens (stored hashed) and the viewer < deployer < admin roles
routes_flows.py  /api/flows: deploy, update, rollback, stop/start, pause/resume, delete, views
routes_ops.py    /api/lint, /healthz, /readyz, /metrics
manager.py       the lifecycle of deployed flows, one change at a time
deployments.py   the persisted registry of flows and revisions (the engine's SQLite store)
views.py         what the API shows of a flow; models.py the documents, for OpenAPI
metrics.py       Prometheus collectors over the runtimes' counters
server.py        assembling the parts and running uvicorn
"""

from flowengine.api.auth import Role, Tokens
from flowengine.api.manager import Settings
from flowengine.api.server import ServeOptions, assemble, serve

__all__ = ["Role", "ServeOptions", "Settings", "Tokens", "assemble", "serve"]
