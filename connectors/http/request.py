"""`http.request`: call an HTTP endpoint with the message; the response continues.

The call succeeds on 2xx only. A non-2xx answer or a transport error raises
`DeliveryFailed`, so the source message is not acknowledged (or goes to the
error route). Every call has a timeout. One connection pool per node.

A URL built from message data must match the node's `allow:` or the server's
`--http-allow` (see `flowengine.compile.netallow`), and the engine's own address is
refused; credentials headers are never filled from message data (E153); the
answer is read while it streams and refused past `max_response_bytes`;
redirects are not followed unless asked, so an allowed host cannot bounce a
call to one that is not.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from flowengine.plugin import (
    AsyncNode,
    BuildContext,
    DeliveryFailed,
    Entry,
    Field,
    Guard,
    KindSpec,
    Message,
    Role,
    Services,
    Template,
    UrlRefused,
    fixed_origin,
)

_BODYLESS = {"GET", "DELETE", "HEAD"}
_CREDENTIALS = frozenset({"authorization", "cookie", "proxy-authorization"})
DEFAULT_MAX_RESPONSE = 10 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    timeout: float
    max_response_bytes: int
    follow_redirects: bool


class HttpRequest(AsyncNode):
    def __init__(
        self, name: str, url: Template, method: str, headers: dict[str, Template], limits: Limits, guard: Guard | None
    ) -> None:
        super().__init__(name, "http.request")
        self.url = url
        self.method = method
        self.headers = headers
        self.limits = limits
        self.guard = guard  # None: the URL's host is fixed in the flow text (checked at compile time)
        self._client: httpx.AsyncClient | None = None

    async def open(self, services: Services) -> None:
        self._client = httpx.AsyncClient(timeout=self.limits.timeout, follow_redirects=self.limits.follow_redirects)

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
        if self.guard is not None:
            try:
                self.guard.check(url, from_message=True)
            except UrlRefused as err:
                raise DeliveryFailed(f"{self.method} refused: {err}") from None
        content = None if self.method in _BODYLESS else msg.body
        try:
            request = self._client.build_request(self.method, url, content=content, headers=headers)
            resp = await self._client.send(request, stream=True)
            try:
                body = await self._read(resp, url)
            finally:
                await resp.aclose()
        except httpx.TimeoutException:
            raise DeliveryFailed(f"{self.method} {url} timed out after {self.limits.timeout}s") from None
        except httpx.HTTPError as err:
            raise DeliveryFailed(f"{self.method} {url} failed: {type(err).__name__}: {err}") from None
        if not resp.is_success:
            raise DeliveryFailed(
                f"{self.method} {url} answered {resp.status_code}",
                details=[{"status": resp.status_code, "body": body[:200].decode("utf-8", "replace")}],
            )
        out = msg.derive(body=body, content_type=resp.headers.get("content-type", "application/octet-stream"))
        out.attributes["http.status"] = resp.status_code
        return out

    async def _read(self, resp: httpx.Response, url: str) -> bytes:
        """The body, read as it streams; over the limit the call fails before more is read."""
        limit = self.limits.max_response_bytes
        too_big = DeliveryFailed(f"{self.method} {url}: the answer is over max_response_bytes ({limit})")
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_big
        chunks, size = [], 0
        async for chunk in resp.aiter_bytes():  # decoded: a compressed answer is bounded by its unpacked size
            size += len(chunk)
            if size > limit:
                raise too_big
            chunks.append(chunk)
        return b"".join(chunks)


def build(ctx: BuildContext) -> HttpRequest:
    headers = {k: ctx.template(str(v), ctx.span_of("headers")) for k, v in ctx.options.get("headers", {}).items()}
    forwarded = sorted(k for k, t in headers.items() if k.lower() in _CREDENTIALS and not t.is_constant)
    if forwarded:
        raise ctx.fail(
            f"header '{forwarded[0]}' is filled from message data: credentials are never forwarded",
            "headers",
            code="E153",
            hint='give the credential as a constant, e.g. "Bearer ${CRM_TOKEN}"',
        )
    url = ctx.option_template("url")
    guard = _guard(ctx, url)
    limits = Limits(float(ctx.options["timeout"]), ctx.options["max_response_bytes"], ctx.options["follow_redirects"])
    return HttpRequest(ctx.name, url, ctx.options["method"], headers, limits, guard)


def _guard(ctx: BuildContext, url: Template) -> Guard | None:
    """The run-time check of a URL whose host comes from message data; None when the host is fixed
    (a constant URL, or a literal `scheme://host/` before the first placeholder), checked here once."""
    try:
        own_allow = tuple(Entry.parse(e) for e in ctx.options.get("allow", ()))
    except ValueError as err:
        raise ctx.fail(str(err), "allow", code="E103") from None
    guard = Guard(own_allow + ctx.http.allow, ctx.http.own)
    origin = url.source if url.is_constant else fixed_origin(url.source)
    if origin is not None:
        try:
            guard.check(origin, from_message=False)
        except UrlRefused as err:
            raise ctx.fail(f"url refused: {err}", "url", code="E152", hint=_ALLOW_HINT) from None
        return None
    if not guard.allow:
        message = "the url is built from message data and no allow-list bounds it"
        if ctx.http.strict:
            raise ctx.fail(message, "url", code="E154", hint=_ALLOW_HINT)
        ctx.warn(message, "url", code="W210", hint=_ALLOW_HINT)
    return guard


_ALLOW_HINT = 'list the hosts or URL prefixes it may call: allow: ["https://crm.example.com/api/"] (or --http-allow)'


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
        "allow": Field(
            {"type": "array", "items": {"type": "string", "minLength": 1}},
            "Hosts (`crm`, `crm:8443`) or URL prefixes (`https://crm/api/`) a URL built from message data "
            "may reach; a constant URL needs none",
            examples=(["https://crm.example.com/api/"],),
        ),
        "max_response_bytes": Field(
            {"type": "integer", "minimum": 1},
            "Largest answer read; a larger one fails the call",
            default=DEFAULT_MAX_RESPONSE,
        ),
        "follow_redirects": Field(
            {"type": "boolean"}, "Follow 3xx redirects (off: a 3xx fails the call)", default=False
        ),
    },
)
