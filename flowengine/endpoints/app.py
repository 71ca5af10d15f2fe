"""The in-process HTTP server's application: flows' endpoints behind one catch-all.

Requests are dispatched through the `HttpRoutes` table that `http.listen`
sources fill while the engine runs. Unknown paths answer 404 and known paths
with another method 405, both with a JSON error body like every other error.

`FlowEndpoints` is a plain ASGI application: `flowengine run` serves it as it is,
with no framework between uvicorn and the flow (no middleware, no Request or
Response objects: a fifth of the in-process CPU per request, see
docs/performance.md). `flowengine serve` mounts the same application as the last
route of the management API, so the API's own paths come first.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from starlette.types import Receive, Scope, Send

from flowengine.endpoints.asgi import Answer, ClientGone, error_answer, send_answer
from flowengine.endpoints.routes import HttpRoutes

if TYPE_CHECKING:
    from starlette.applications import Starlette

FLOW_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

log = logging.getLogger("flowengine.http")


class FlowEndpoints:
    """ASGI application serving the flows' routes of one `HttpRoutes` table."""

    def __init__(self, routes: HttpRoutes) -> None:
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            try:
                out = await self._answer(scope, receive)
            except ClientGone:
                return
            await send_answer(send, out)
        elif kind == "lifespan":  # nothing to start: the engine runs the flows
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
        else:  # flows serve no websockets
            await send({"type": "websocket.close"})

    async def _answer(self, scope: Scope, receive: Receive) -> Answer:
        method, path = scope["method"], scope["path"]
        found = self.routes.match(method, path)
        if found is None:
            return self._unrouted(method, path)
        handler, params = found
        try:
            return await handler(scope, receive, params)
        except ClientGone:
            raise
        except Exception:  # a bug, not a message problem (those are answered by the source)
            log.exception("%s %s: the flow endpoint failed", method, path)
            return error_answer("internal", "internal server error", 500)

    def _unrouted(self, method: str, path: str) -> Answer:
        allowed = self.routes.allowed_methods(path)
        if allowed:
            message = f"{method} not allowed; use {', '.join(allowed)}"
            return error_answer("method_not_allowed", message, 405, {"allow": ", ".join(allowed)})
        return error_answer("not_found", f"no flow serves {path}", 404)


def mount_flow_routes(app: Starlette, routes: HttpRoutes) -> None:
    """Serve flow endpoints on every path `app` (the management API) does not already handle."""
    from starlette.routing import Route  # only `serve` mounts: `run` serves `FlowEndpoints` bare

    app.router.routes.append(
        Route("/{path:path}", FlowEndpoints(routes), methods=FLOW_METHODS, include_in_schema=False)
    )


def make_app(routes: HttpRoutes) -> FlowEndpoints:
    return FlowEndpoints(routes)
