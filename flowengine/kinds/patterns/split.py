"""`split`: one message into many, by a JSON-array expression, an XPath, or HL7 segment groups.

Each part carries `split-id` (the source message's id: the correlation key an
`aggregate` uses by default), `split-index` (from 0) and `split-count`, and the
id `<source id>:<index>`, the same on every redelivery, so an aggregate can tell
a redelivered part from a new one. The runtime sends the parts on concurrently
and acknowledges the source message only when every part finished: one failed
part means redelivery of the whole, never a silently missing part.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lxml import etree

from flowengine.compile.build import BuildContext
from flowengine.compile.spec import Field, KindSpec, Role
from flowengine.core.message import Message
from flowengine.core.nodes import Transform
from flowengine.errors import BadMessage, NodeFailed
from flowengine.formats import FormatError, hl7
from flowengine.kinds.xml import checked_limits, xml_of

XML_TYPE = "application/xml"
HL7_TYPE = "application/hl7-v2"

Piece = dict[str, Any]
"""The body of one part, as keyword arguments of `Message.derive` (`json=`, or `body=` and `content_type=`)."""

Cut = Callable[[Message], list[Piece]]


class Split(Transform):
    def __init__(self, name: str, cut: Cut) -> None:
        super().__init__(name, "split")
        self.cut = cut

    def process(self, msg: Message) -> list[Message] | None:
        pieces = self.cut(msg)
        if not pieces:
            return None  # counted as dropped: nothing to send on
        count = str(len(pieces))
        parts = []
        for i, piece in enumerate(pieces):
            part = msg.derive(**piece)
            part.id = f"{msg.id}:{i}"
            part.headers.update({"split-id": msg.id, "split-index": str(i), "split-count": count})
            parts.append(part)
        return parts


def _by_expression(ctx: BuildContext) -> Cut:
    items = ctx.option_expression("items") if "items" in ctx.options else ctx.expression("body", ctx.span)
    source = items.source

    def cut(msg: Message) -> list[Piece]:
        value = items(msg)
        if not isinstance(value, list):
            raise BadMessage(f"split: `{source}` is {type(value).__name__}, not a JSON array")
        return [{"json": v} for v in value]

    return cut


def _by_xpath(ctx: BuildContext) -> Cut:
    checked_limits(ctx)
    try:
        select = etree.XPath(ctx.options["xpath"], namespaces=ctx.options.get("namespaces") or None)
    except etree.XPathSyntaxError as err:
        raise ctx.fail(f"XPath does not compile: {err}", "xpath", code="E130") from None
    expr = ctx.options["xpath"]

    def cut(msg: Message) -> list[Piece]:
        try:
            found = select(xml_of(msg))
        except etree.XPathEvalError as err:
            raise NodeFailed(f"XPath `{expr}` failed: {err}") from None
        if not isinstance(found, list) or not all(isinstance(e, etree._Element) for e in found):
            raise NodeFailed(f"XPath `{expr}` must select elements to split on")
        return [
            {"body": etree.tostring(e, encoding="UTF-8", xml_declaration=True), "content_type": XML_TYPE} for e in found
        ]

    return cut


def _by_segment(ctx: BuildContext) -> Cut:
    start = ctx.options["hl7"]

    def cut(msg: Message) -> list[Piece]:
        try:
            parsed = hl7.parse(msg.body)
        except FormatError as err:
            raise BadMessage(f"body is not HL7 v2: {err}") from None
        good = iter(parsed.messages())
        refused = {r.index: r for r in parsed.rejected}
        pieces: list[Piece] = []
        for index in range(1, parsed.count("MSH") + len(refused) + 1):
            if index in refused:  # handed on as written, to fail on its own: the others go on
                pieces.append({"body": refused[index].er7.encode(parsed.charset), "content_type": HL7_TYPE})
            else:
                pieces += [{"body": m.to_bytes(), "content_type": HL7_TYPE} for m in _groups(next(good), start)]
        return pieces

    return cut


def _groups(msg: hl7.Hl7Message, start: str) -> list[hl7.Hl7Message]:
    """Each `start` segment with the segments up to the next one, behind the segments
    before the first (MSH, PID, ...), so every part is a whole message on its own."""
    segments = msg.segments
    starts = [i for i, s in enumerate(segments) if s.id == start]
    head = segments[: starts[0]] if starts else ()
    ends = [*starts[1:], len(segments)]
    seps, charset = msg.separators, msg.charset
    return [hl7.Hl7Message(head + segments[a:b], seps, charset) for a, b in zip(starts, ends, strict=True)]


def build(ctx: BuildContext) -> Split:
    given = [o for o in ("items", "xpath", "hl7") if o in ctx.options]
    if len(given) > 1:
        raise ctx.fail(f"give one of 'items', 'xpath' or 'hl7', not {' and '.join(given)}", given[1], code="E104")
    if "namespaces" in ctx.options and "xpath" not in ctx.options:
        raise ctx.fail("'namespaces' goes with 'xpath'", "namespaces", code="E104")
    cut = {"xpath": _by_xpath, "hl7": _by_segment}.get(given[0] if given else "items", _by_expression)
    return Split(ctx.name, cut(ctx))


SPEC = KindSpec(
    name="split",
    role=Role.TRANSFORM,
    summary="Split a message into parts: a JSON array, XML elements by XPath, or HL7 segment groups.",
    description=(
        "Parts carry headers `split-id` (the source message's id), `split-index` (from 0) and `split-count`. "
        "The source message is acknowledged only when every part finished. With none of `items`, `xpath`, "
        "`hl7`, the body itself must be a JSON array. A message with no parts is dropped and counted."
    ),
    build=build,
    options={
        "items": Field(
            {"type": "string", "minLength": 1},
            "Expression giving the JSON array to split (default: the body)",
            expression=True,
            examples=("body.lines",),
        ),
        "xpath": Field(
            {"type": "string", "minLength": 1},
            "XPath selecting the elements that become parts (each its own XML document)",
            examples=("/batch/order",),
        ),
        "namespaces": Field(
            {"type": "object", "additionalProperties": {"type": "string"}},
            'Prefixes used in `xpath`, e.g. {o: "urn:orders"}',
        ),
        "hl7": Field(
            {"type": "string", "pattern": "^[A-Z][A-Z0-9]{2}$"},
            "Segment that starts each group (e.g. OBR): each part is the segments before the first "
            "group (MSH, PID, ...) plus one group",
            examples=("OBR",),
        ),
    },
)
