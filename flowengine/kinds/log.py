"""`log`: write one log line per message; passes the message on if edges follow.

Bodies are not logged unless `body: true`, since they may carry personal data.
"""

from __future__ import annotations

import logging

from flowengine.compile.build import BuildContext
from flowengine.compile.spec import Field, KindSpec, Role
from flowengine.core.message import Message
from flowengine.core.nodes import Transform
from flowengine.expressions.compiled import Template

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


class LogNode(Transform):
    def __init__(self, name: str, flow: str, level: int, message: Template, with_body: bool) -> None:
        super().__init__(name, "log")
        self.logger = logging.getLogger(f"flowengine.flow.{flow}")
        self.flow = flow
        self.level = level
        self.message = message
        self.with_body = with_body

    def process(self, msg: Message) -> Message:
        if self.logger.isEnabledFor(self.level):
            extra = {"flow": self.flow, "node": self.name, "message_id": msg.id}
            if self.with_body:
                extra["body"] = msg.body.decode("utf-8", "replace")
            self.logger.log(self.level, self.message.render(msg), extra=extra)
        return msg


def build(ctx: BuildContext) -> LogNode:
    return LogNode(
        ctx.name, ctx.flow, _LEVELS[ctx.options["level"]], ctx.option_template("message"), ctx.options["body"]
    )


SPEC = KindSpec(
    name="log",
    role=Role.SINK,
    summary="Log each message (id and a templated line; the body only when asked).",
    build=build,
    options={
        "level": Field({"enum": list(_LEVELS)}, "Log level", default="info"),
        "message": Field({"type": "string"}, "Template of the log line", default="message {{ id }}", template=True),
        "body": Field({"type": "boolean"}, "Include the body in the log record", default=False),
    },
)
