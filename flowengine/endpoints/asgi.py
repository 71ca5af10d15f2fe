"""Flows' HTTP endpoints in plain ASGI: read a request body, build an answer, send it.

A flow endpoint is answered without Starlette's `Request` and `Response` objects:
the request is the ASGI scope and a body read straight from `receive`, the answer
two `send` calls. Those objects and the middleware around them were about a fifth
of the in-process CPU of an S2 request (docs/performance.md). The headers of an
answer are the ones Starlette's `Response` would set, so clients see no change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import orjson
from starlette.types import Receive, Send


class Answer(NamedTuple):
    """An HTTP answer ready to send: status, raw header pairs, body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class ClientGone(Exception):
    """The client disconnected before its request body was read: there is no one to answer."""


def answer(body: bytes, status: int = 200, content_type: str | None = None,
           headers: Mapping[str, str] | None = None) -> Answer:  # fmt: skip
    """An answer with Starlette's header rules: the given headers (names lowercased), then
    content-length (not for 1xx, 204, 304) and content-type unless given, `text/*` with
    `charset=utf-8` added when it names none."""
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()] if headers else []
    given = {k for k, _ in raw}
    if b"content-length" not in given and not (status < 200 or status in (204, 304)):
        raw.append((b"content-length", str(len(body)).encode("latin-1")))
    if content_type is not None and b"content-type" not in given:
        if content_type.startswith("text/") and "charset=" not in content_type.lower():
            content_type += "; charset=utf-8"
        raw.append((b"content-type", content_type.encode("latin-1")))
    return Answer(status, raw, body)


def json_answer(doc: Any, status: int, headers: Mapping[str, str] | None = None) -> Answer:
    return answer(orjson.dumps(doc), status, "application/json", headers)


def error_answer(kind: str, message: str, status: int, headers: Mapping[str, str] | None = None) -> Answer:
    """The JSON error body every failure answers with: {"error": {"type", "message"}}."""
    return json_answer({"error": {"type": kind, "message": message}}, status, headers)


async def send_answer(send: Send, out: Answer) -> None:
    await send({"type": "http.response.start", "status": out.status, "headers": out.headers})
    await send({"type": "http.response.body", "body": out.body})


async def read_body(receive: Receive, limit: int, too_large: type[Exception]) -> bytes:
    """The whole request body; `too_large` (with a message) once it passes `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        event = await receive()
        if event["type"] == "http.disconnect":
            raise ClientGone
        chunk = event.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                raise too_large(f"body is over the limit of {limit} bytes")
            chunks.append(chunk)
        if not event.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def header_dict(scope: Mapping[str, Any]) -> dict[str, str]:
    """The request's headers by lowercased name (the last of repeated ones), as text."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
