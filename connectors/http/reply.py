"""`http.reply`: make the current message the answer to the request that started it."""

from __future__ import annotations

from flowengine.plugin import BuildContext, Field, KindSpec, Message, Role, Template, Transform


class HttpReply(Transform):
    def __init__(self, name: str, status: int, content_type: str | None, headers: dict[str, Template]) -> None:
        super().__init__(name, "http.reply")
        self.status = status
        self.content_type = content_type
        self.headers = headers

    def process(self, msg: Message) -> Message:
        reply = msg.derive(body=msg.body, content_type=self.content_type or msg.content_type)
        ex = msg.exchange
        ex.reply = reply
        ex.reply_status = self.status
        ex.reply_headers = {k: t.render(msg) for k, t in self.headers.items()}
        return msg


def build(ctx: BuildContext) -> HttpReply:
    headers = {k: ctx.template(str(v), ctx.span_of("headers")) for k, v in ctx.options.get("headers", {}).items()}
    return HttpReply(ctx.name, ctx.options["status"], ctx.options.get("content_type"), headers)


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
            "Response headers; values are templates",
            template=True,
        ),
    },
)
