"""`http.request`: call an HTTP endpoint with the message; the response continues.

The call succeeds on 2xx only. A non-2xx answer or a transport error raises
`DeliveryFailed`, so the source message is not acknowledged (or goes to the
error route). Every call has a timeout. One connection pool per node.
"""

from __future__ import annotations

import httpx

from flowengine.plugin import (
    AsyncNode,
    BuildContext,
    DeliveryFailed,
    Field,
    KindSpec,
    Message,
    Role,
    Services,
    Template,
)

_BODYLESS = {"GET", "DELETE", "HEAD"}


class HttpRequest(AsyncNode):
    def __init__(self, name: str, url: Template, method: str, headers: dict[str, Template], timeout: float) -> None:
        super().__init__(name, "http.request")
        self.url = url
        self.method = method
        self.headers = headers
        self.timeout = timeout
        self._client: httpx.AsyncClient | None = None

    async def open(self, services: Services) -> None:
        self._client = httpx.AsyncClient(timeout=self.timeout)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def process(self, msg: Message) -> Message:
        assert self._client is not None, "http.request used before open()"
        headers = {k: t.render(msg) for k, t in self.headers.items()}
        headers.setdefault("content-type", msg.content_type)
        if msg.traceparent:
            headers.setdefault("traceparent", msg.traceparent)
        url = self.url.render(msg)
        content = None if self.method in _BODYLESS else msg.body
        try:
            resp = await self._client.request(self.method, url, content=content, headers=headers)
        except httpx.TimeoutException:
            raise DeliveryFailed(f"{self.method} {url} timed out after {self.timeout}s") from None
        except httpx.HTTPError as err:
            raise DeliveryFailed(f"{self.method} {url} failed: {type(err).__name__}: {err}") from None
        if not resp.is_success:
            raise DeliveryFailed(
                f"{self.method} {url} answered {resp.status_code}",
                details=[{"status": resp.status_code, "body": resp.text[:200]}],
            )
        out = msg.derive(body=resp.content, content_type=resp.headers.get("content-type", "application/octet-stream"))
        out.attributes["http.status"] = resp.status_code
        return out


def build(ctx: BuildContext) -> HttpRequest:
    headers = {k: ctx.template(str(v), ctx.span_of("headers")) for k, v in ctx.options.get("headers", {}).items()}
    url = ctx.option_template("url")
    return HttpRequest(ctx.name, url, ctx.options["method"], headers, float(ctx.options["timeout"]))


SPEC = KindSpec(
    name="http.request",
    role=Role.SINK,
    external=True,
    summary="Send the message to an HTTP endpoint (httpx); the 2xx response continues down the flow.",
    build=build,
    options={
        "url": Field(
            {"type": "string", "minLength": 1},
            "URL; a template, e.g. http://crm/customers/{{ body.id }}",
            required=True,
            template=True,
        ),
        "method": Field({"enum": ["GET", "POST", "PUT", "PATCH", "DELETE"]}, "HTTP method", default="POST"),
        "headers": Field(
            {"type": "object", "additionalProperties": {"type": "string"}},
            "Request headers; values are templates (use ${ENV} for tokens)",
            template=True,
        ),
        "timeout": Field({"type": "number", "exclusiveMinimum": 0}, "Seconds before the call fails", default=10),
    },
)
