"""The in-process HTTP server's application: flows' endpoints behind one catch-all.

Requests are dispatched through the `HttpRoutes` table that `http.listen`
sources fill while the engine runs. Unknown paths answer 404 and known paths
with another method 405, both with a JSON error body like every other error.
The catch-all is a plain Starlette route, not a FastAPI one: it takes the
request as it is, so FastAPI's per-request dependency solving is skipped
(a third of the in-process CPU per request; see docs/performance.md).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from flowengine.http_routes import HttpRoutes

FLOW_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def mount_flow_routes(app: FastAPI, routes: HttpRoutes) -> None:
    """Serve flow endpoints on every path `app` does not already handle."""

    async def dispatch(request: Request) -> Response:
        found = routes.match(request.method, request.url.path)
        if found is None:
            allowed = routes.allowed_methods(request.url.path)
            if allowed:
                return JSONResponse(
                    {
                        "error": {
                            "type": "method_not_allowed",
                            "message": f"{request.method} not allowed; use {', '.join(allowed)}",
                        }
                    },
                    status_code=405,
                    headers={"allow": ", ".join(allowed)},
                )
            return JSONResponse(
                {"error": {"type": "not_found", "message": f"no flow serves {request.url.path}"}}, status_code=404
            )
        handler, params = found
        return await handler(request, params)

    app.router.routes.append(Route("/{path:path}", dispatch, methods=FLOW_METHODS, include_in_schema=False))


def make_app(routes: HttpRoutes) -> FastAPI:
    app = FastAPI(title="Flowengine", docs_url=None, redoc_url=None, openapi_url=None)
    mount_flow_routes(app, routes)
    return app
