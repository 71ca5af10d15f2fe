"""`http.reply`: make the current message the answer to the request that started it.

Header values are templates, so they can carry what a caller sent. A value holding
CR or LF would split the answer's headers (header injection), and other control
characters or characters beyond Latin-1 cannot be sent at all (the server used to
drop the connection with a traceback): such a message fails here with `bad_message`,
and the caller gets 400 naming the header.
"""

from __future__ import annotations

import re

from flowengine.plugin import BadMessage, BuildContext, Field, KindSpec, Message, Role, Template, Transform

_UNSENDABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]")  # in a header value (RFC 9110 5.5)
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # a header name (RFC 9110 5.6.2)


class HttpReply(Transform):
    def __init__(self, name: str, status: int, content_type: str | None, headers: dict[str, Template]) -> None:
        super().__init__(name, "http.reply")
        self.status = status
        self.content_type = content_type
        self.headers = headers

    def process(self, msg: Message) -> Message:
        headers = {k: t.render(msg) for k, t in self.headers.items()}
        for name, value in headers.items():
            bad = _UNSENDABLE.search(value)
            if bad is not None:
                raise BadMessage(
                    f"reply header '{name}' would hold {bad.group()!r}: a header value cannot carry CR, LF, "
                    "other control characters or characters beyond Latin-1"
                )
        reply = msg.derive(body=msg.body, content_type=self.content_type or msg.content_type)
        ex = msg.exchange
        ex.reply = reply
        ex.reply_status = self.status
        ex.reply_headers = headers
        return msg


def build(ctx: BuildContext) -> HttpReply:
    for name in ctx.options.get("headers", {}):
        if not _TOKEN.fullmatch(name):
            raise ctx.fail(f"'{name}' is not a header name (letters, digits and !#$%&'*+.^_`|~-)", "headers")
    content_type = ctx.options.get("content_type")
    if content_type is not None and _UNSENDABLE.search(content_type):
        raise ctx.fail("content_type cannot hold control characters or characters beyond Latin-1", "content_type")
    headers = {k: ctx.template(str(v), ctx.span_of("headers")) for k, v in ctx.options.get("headers", {}).items()}
    return HttpReply(ctx.name, ctx.options["status"], content_type, headers)


SPEC = KindSpec(
    name="http.reply",
    role=Role.SINK,
    summary="Answer the HTTP request that started this message with the message itself.",
    build=build,
    options={
        "status": Field({"type": "integer", "minimum": 100, "maximum": 599}, "HTTP status", default=200),
        "content_type": Field({"type": "string"}, "Content type; defaults to the message's"),
        "headers": Field(
            {"type": "object", "additionalProperties": {"type": "string"}},
            "Response headers; values are templates (one that renders CR, LF or other control characters fails "
            "the message with `bad_message`)",
            template=True,
        ),
    },
)
