"""Errors of the management API and the one JSON shape they all answer with.

Every refusal is `{"error": {"type": ..., "message": ...}}`, the same shape the
flow endpoints use, with the HTTP status saying the class of problem:

    400 bad_request          the request is malformed (JSON, query, name mismatch)
    401 unauthorized         no token, or not a known one
    403 forbidden            the token's role may not do this
    404 not_found            no such flow or revision
    409 conflict             the flow exists / is stopped / a route or channel is taken
    412 precondition_failed  If-Match names a revision that is no longer current
    413 too_large            the body or the flow source is over the limit
    415 unsupported_media    neither text/plain nor application/json
    422 invalid_flow         the flow does not compile; carries the lint report fields
    503 auth_not_configured  the server has no tokens, or a connector is unreachable

An invalid flow adds `files`, `errors`, `warnings` and `diagnostics` exactly as
`flowengine lint --format json` prints them, so CI reads both the same way.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, Response


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        type: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type
        self.message = message
        self.headers = headers
        self.extra = extra or {}

    def response(self) -> Response:
        body = {"error": {"type": self.type, "message": self.message}, **self.extra}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def not_found(name: str) -> ApiError:
    return ApiError(404, "not_found", f"no flow named '{name}' is deployed")


def install_handlers(app: FastAPI) -> None:
    """Answer ApiErrors and malformed requests (bad query values, bad headers) in the one shape."""

    async def api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return exc.response()

    async def bad_request(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return ApiError(400, "bad_request", problems or "malformed request").response()

    async def http_error(_: Request, exc: Exception) -> Response:  # e.g. a JSON body that does not parse
        assert isinstance(exc, StarletteHTTPException)
        kind = _HTTP_TYPES.get(exc.status_code, "http_error")
        return ApiError(exc.status_code, kind, str(exc.detail), headers=dict(exc.headers or {})).response()

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, bad_request)
    app.add_exception_handler(StarletteHTTPException, http_error)


_HTTP_TYPES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}
