"""`template`: render the message into text with a sandboxed Jinja2 template.

XML and HTML output autoescapes by default, so a value such as `<b>` from a
message cannot break the document it is inserted into.
"""

from __future__ import annotations

from flowengine.compile.build import BuildContext
from flowengine.compile.spec import Field, KindSpec, Role
from flowengine.core.message import Message
from flowengine.core.nodes import Transform
from flowengine.expressions.compiled import Template


class TemplateNode(Transform):
    def __init__(self, name: str, template: Template, content_type: str) -> None:
        super().__init__(name, "template")
        self.template = template
        self.content_type = content_type

    def process(self, msg: Message) -> Message:
        return msg.derive(body=self.template.render(msg).encode("utf-8"), content_type=self.content_type)


def _escapes(content_type: str) -> bool:
    return any(t in content_type for t in ("xml", "html"))


def build(ctx: BuildContext) -> TemplateNode:
    has_text, has_file = "text" in ctx.options, "file" in ctx.options
    if has_text == has_file:
        raise ctx.fail("give exactly one of 'text' or 'file'", code="E104")
    content_type = ctx.options["content_type"]
    autoescape = ctx.options.get("autoescape", _escapes(content_type))
    if has_text:
        tpl = ctx.option_template("text", autoescape=autoescape)
    else:
        _, data = ctx.read_file("file")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ctx.fail(f"template file is not UTF-8 (byte {err.start})", "file", code="E131") from None
        tpl = ctx.template(text, ctx.span_of("file"), autoescape=autoescape)
    return TemplateNode(ctx.name, tpl, content_type)


SPEC = KindSpec(
    name="template",
    role=Role.TRANSFORM,
    summary="Render the message as text with a Jinja2 template (sandboxed).",
    build=build,
    options={
        "text": Field(
            {"type": "string"}, 'The template itself (a """long string""" suits several lines)', template=True
        ),
        "file": Field({"type": "string"}, "Path of a template file, resolved like json.validate's schema"),
        "content_type": Field({"type": "string"}, "Content type of the output", default="text/plain; charset=utf-8"),
        "autoescape": Field({"type": "boolean"}, "Escape inserted values; on by default for XML and HTML output"),
    },
)
