"""The server's one ASGI application: management API, probes, metrics, and flow endpoints.

Routes are matched in order, so the API's own paths come first and the flows'
catch-all last: `/api/...`, `/healthz`, `/readyz`, `/metrics`, `/docs` and
`/openapi.json` always reach the API, whatever path a flow declares. An unknown
`/api/...` path answers the API's 404 (or 405 with `Allow`), never a flow's; so does
a method the probes and `/metrics` do not serve (`PUT /healthz`: 405, `Allow: GET`).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from flowengine.api.auth import Tokens
from flowengine.api.errors import ApiError, install_handlers
from flowengine.api.manager import FlowManager
from flowengine.api.metrics import Metrics
from flowengine.api.routes_dlq import router as dlq_router
from flowengine.api.routes_flows import router as flows_router
from flowengine.api.routes_ops import router as ops_router
from flowengine.endpoints.app import mount_flow_routes
from flowengine.ui import mount_ui

DESCRIPTION = """Deploy, inspect and operate the flows of a running Flowengine.

Send `Authorization: Bearer <token>`; the server's tokens file gives each token a
role: `viewer` reads, `deployer` also deploys, updates, stops and starts, `admin`
also deletes. Errors answer `{"error": {"type", "message"}}`; a flow that does not
compile answers 422 with the diagnostics of `flowengine lint --format json`."""
API_FALLBACK = "/api/{rest:path}"
FLOW_FALLBACK = "/{path:path}"
API_METHODS = ("GET", "POST", "PUT", "DELETE")
OPS_PATHS = ("/healthz", "/readyz", "/metrics")
"""Paths outside /api/ that are the API's own: other methods on them are the API's 405."""


def create_app(manager: FlowManager, tokens: Tokens, metrics: Metrics, *, max_body_bytes: int = 1_048_576) -> FastAPI:
    app = FastAPI(title="Flowengine management API", version="1", description=DESCRIPTION)
    app.state.manager = manager
    app.state.tokens = tokens
    app.state.metrics = metrics
    app.state.max_body_bytes = max_body_bytes
    install_handlers(app)
    app.include_router(flows_router)
    app.include_router(dlq_router)
    app.include_router(ops_router)
    _api_fallback(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    mount_ui(app)  # the live flow pages, /ui/...
    mount_flow_routes(app, manager.engine.services.http)  # last: flows get only what the API does not serve
    return app


def _api_fallback(app: FastAPI) -> None:
    for path in (API_FALLBACK, *OPS_PATHS):
        app.add_api_route(path, _unknown, methods=[*API_METHODS, "PATCH", "HEAD", "OPTIONS"], include_in_schema=False)


async def _unknown(request: Request) -> Response:
    """404 for a path the API does not have; 405 with `Allow` for a method it does not serve there."""
    allowed = [m for m in API_METHODS if _served(request.app, {**request.scope, "method": m})]
    if allowed:
        message = f"{request.method} not allowed; use {', '.join(allowed)}"
        return ApiError(405, "method_not_allowed", message, headers={"allow": ", ".join(allowed)}).response()
    return ApiError(404, "not_found", f"no API endpoint {request.url.path}").response()


def _served(app: FastAPI, scope: dict[str, Any]) -> bool:
    """Whether an API route (not a fallback) fully matches `scope`."""
    return any(
        route.matches(scope)[0] is Match.FULL
        for route in app.router.routes
        if getattr(route, "endpoint", None) is not _unknown and getattr(route, "path", None) != FLOW_FALLBACK
    )


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, without the 422 it adds for request validation: this API answers
    malformed requests with 400 (declared on each route) and keeps 422 for invalid flows."""
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        for path in schema["paths"].values():
            for operation in path.values():
                answer = operation.get("responses", {}).get("422", {})
                if "HTTPValidationError" in str(answer):
                    del operation["responses"]["422"]
        for unused in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(unused, None)
        app.openapi_schema = schema
    return app.openapi_schema
