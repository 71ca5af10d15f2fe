"""`http.listen`: serve an endpoint on the engine's HTTP server.

The request is the message (body, content type, lowercased headers; method,
path, query and path parameters as attributes). The response is sent only
after every path of the flow finished, because for HTTP the 2xx *is* the
acknowledgement: a client that got 2xx knows every sink confirmed.

    every path finished, reached `http.reply` -> that reply (status, headers, body)
    no reply, no error        -> 204 No Content
    a path failed (even if another reached `http.reply`), or an error route handled it
    without a reply of its own -> the error's status and JSON body:
        {"error": {"type", "message", "node", "details"}}
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Receive, Scope

from flowengine.plugin import (
    Answer,
    BuildContext,
    Field,
    KindSpec,
    Message,
    MessageError,
    MessageTooLarge,
    Outcome,
    Role,
    Source,
    SourceContext,
    answer,
    error_answer,
    header_dict,
    json_answer,
    read_body,
)


class HttpListen(Source):
    def __init__(self, name: str, path: str, method: str, max_body_bytes: int, body_timeout: float) -> None:
        super().__init__(name, "http.listen")
        self.path = path
        self.method = method.upper()
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self._ctx: SourceContext | None = None
        self._paused = False

    async def start(self, ctx: SourceContext) -> None:
        self._ctx = ctx
        ctx.services.http.add(self.method, self.path, self.handle, owner=ctx.flow)

    async def stop(self) -> None:
        if self._ctx is not None:
            self._ctx.services.http.remove(self.method, self.path, self.handle)

    async def pause(self) -> None:
        """Keep the route but answer 503 (with Retry-After): clients learn to come back."""
        self._paused = True

    async def resume(self, ctx: SourceContext) -> None:
        self._paused = False

    async def handle(self, scope: Scope, receive: Receive, params: dict[str, Any]) -> Answer:
        assert self._ctx is not None
        if self._paused:
            return error_answer("paused", f"flow '{self._ctx.flow}' is paused", 503, {"retry-after": "1"})
        headers = header_dict(scope)
        try:
            async with asyncio.timeout(self.body_timeout):
                body = await self._read_body(receive, headers.get("content-length"))
        except MessageTooLarge as err:
            err.node = self.name
            return error_response(err)
        except TimeoutError:  # a Content-Length larger than the body sent, or a client trickling it
            text = f"the request body did not arrive within {self.body_timeout:g}s"
            error = {"type": "timeout", "message": text, "node": self.name}
            return json_answer({"error": error}, 408, {"connection": "close"})
        query = scope.get("query_string", b"")
        msg = Message(
            body,
            content_type=headers.get("content-type", "application/octet-stream"),
            headers=headers,
            attributes={
                "http.method": scope["method"],
                "http.path": scope["path"],
                "http.query": dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True)) if query else {},
                "http.params": params,
            },
            traceparent=headers.get("traceparent"),
        )
        outcome = await self._ctx.process(msg)
        return response_for(outcome)

    async def _read_body(self, receive: Receive, declared: str | None) -> bytes:
        if declared and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise MessageTooLarge(f"body of {declared} bytes is over the limit of {self.max_body_bytes} bytes")
        return await read_body(receive, self.max_body_bytes, MessageTooLarge)


def response_for(outcome: Outcome) -> Answer:
    """The answer for a finished request: a reply only counts when every path finished (`Outcome.reply`)."""
    reply = outcome.reply
    if reply is not None:
        ex = outcome.exchange
        return answer(reply.body, ex.reply_status, reply.content_type, ex.reply_headers)
    if outcome.error is not None:
        return error_response(outcome.error)
    return answer(b"", 204)


def error_response(error: MessageError) -> Answer:
    return json_answer({"error": error.to_json()}, error.status)


def build(ctx: BuildContext) -> HttpListen:
    path = ctx.options["path"]
    if not path.startswith("/"):
        raise ctx.fail(f"path must start with '/', got '{path}'", "path")
    o = ctx.options
    return HttpListen(ctx.name, path, o["method"], o["max_body_bytes"], float(o["body_timeout"]))


SPEC = KindSpec(
    name="http.listen",
    role=Role.SOURCE,
    external=True,
    answers_sender=True,
    summary="Serve an HTTP endpoint; each request is a message, answered when the flow is done.",
    description=(
        "The answer is the message that reached `http.reply`, or 204 when none did; a failure answers "
        "with its status (400 bad body, 408 body not received in time, 413 too large, 422 schema violation, "
        "500 node failure, 502 delivery failure) and a JSON error body naming the node, even when another path "
        "reached `http.reply`."
    ),
    build=build,
    options={
        "path": Field(
            {"type": "string", "minLength": 1},
            "URL path, may hold parameters: /orders/{id}",
            required=True,
            examples=("/orders",),
        ),
        "method": Field({"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]}, "HTTP method", default="POST"),
        "max_body_bytes": Field(
            {"type": "integer", "minimum": 0}, "Larger bodies are refused with 413", default=1_048_576
        ),
        "body_timeout": Field(
            {"type": "number", "exclusiveMinimum": 0},
            "Seconds to receive the whole body; a slower one (or a Content-Length larger than the body) gets 408",
            default=30,
        ),
    },
)
