"""Reading a flow out of a request body: text/plain or JSON, never more than the limit.

The limit is checked against Content-Length before reading and against the
bytes actually received while reading (a chunked body declares no length), so
an oversized upload is refused with 413 without ever being held in memory.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError
from starlette.requests import Request

from dsl import source
from flowengine.api.errors import ApiError
from flowengine.api.models import FlowText

TEXT_TYPES = ("text/plain", "application/x-flow", "text/x-flow")


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "too_large", f"request body is over the limit of {limit} bytes")


async def flow_text(request: Request, limit: int) -> FlowText:
    """The flow a request carries: the whole body as text/plain (or no content type),
    or a JSON object {"source", "name"?, "file"?}. No body at all is refused (400), as the
    schema's required, non-empty body says: it cannot hold a flow."""
    media = request.headers.get("content-type", "text/plain").split(";")[0].strip().lower()
    body = await read_body(request, limit)
    if not body:
        raise ApiError(400, "bad_request", "the request has no body; send the flow text as text/plain or JSON")
    if media == "application/json":
        return _from_json(body)
    if media in TEXT_TYPES or not media:
        try:
            return FlowText(source=source.decode(body, "<request>"))
        except source.SourceError as err:
            d = err.diagnostic  # the document `flowengine lint --format json` prints for such a file
            report = {"files": [d.span.file], "errors": 1, "warnings": 0, "diagnostics": [d.to_json()]}
            raise ApiError(422, "invalid_flow", d.headline(), extra=report) from None
    raise ApiError(
        415,
        "unsupported_media",
        f"send the flow as text/plain or application/json, not {media} (curl: -H 'content-type: text/plain')",
    )


def _from_json(body: bytes) -> FlowText:
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError as err:
        raise ApiError(400, "bad_request", f"body is not valid JSON: {err}") from None
    try:
        return FlowText.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in err.errors())
        raise ApiError(400, "bad_request", f'expected {{"source": "...", "name"?, "file"?}}: {problems}') from None


OPENAPI_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The .flow text, as text/plain or as JSON",
        "content": {
            "text/plain": {"schema": {"type": "string", "minLength": 1}},
            "application/json": {"schema": FlowText.model_json_schema()},
        },
    }
}
"""The request body as the OpenAPI schema documents it (the routes read it themselves)."""
