"""HL7 v2 node kinds and the `hl7` expression view (library: `flowengine.formats.hl7`).

Every kind reads the message through `hl7_of`, which parses the body once per
message (ER7 bytes, or the JSON `hl7.to_json` made) and caches the tree on it,
so `hl7["PID-5.1"]` in a mapping, a branch condition and `hl7.ack` share one
parse. A body that is not HL7 raises `BadMessage`, which takes the error
route (or NACKs the source); nothing is dropped.
"""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from flowengine import formats
from flowengine.compile.build import BuildContext
from flowengine.compile.spec import Field, KindSpec, Role
from flowengine.core.message import Message
from flowengine.core.nodes import Transform
from flowengine.errors import BadMessage, ValidationFailed
from flowengine.expressions.compiled import Template
from flowengine.formats import hl7
from flowengine.formats.hl7.body import ER7_TYPE, JSON_TYPE, VIEW
from flowengine.formats.hl7.errors import APPLICATION_INTERNAL_ERROR
from flowengine.kinds.xml import checked_limits, xml_of

XML_TYPE = "application/xml"


def _parse(msg: Message) -> hl7.Hl7Message:
    try:
        parsed = hl7.from_json(msg.json) if "json" in msg.content_type else hl7.parse(msg.body)
    except hl7.Hl7SyntaxError as err:  # the segment and table 0357 code go to an ACK's ERR
        raise BadMessage(f"body is not HL7 v2: {err}", details=[err.to_json()]) from None
    except formats.FormatError as err:
        raise BadMessage(f"body is not HL7 v2: {err}") from None
    if parsed.rejected:  # a node that reads the whole batch must not drop part of it; split keeps them apart
        details = [r.error.to_json() if isinstance(r.error, hl7.Hl7SyntaxError) else {} for r in parsed.rejected]
        raise BadMessage(f"body is not HL7 v2: {'; '.join(map(str, parsed.rejected))}", details=details)
    return parsed


def hl7_of(msg: Message) -> hl7.Hl7Message:
    """The message's body as HL7 (parsed once, cached on the message); BadMessage if it is not."""
    parsed: hl7.Hl7Message = msg.view(VIEW, _parse)
    return parsed


class _Convert(Transform):
    """A transform that is one function of the parsed HL7 message."""

    def __init__(self, name: str, kind: str, convert: Callable[[Message, hl7.Hl7Message], Message]) -> None:
        super().__init__(name, kind)
        self.convert = convert

    def process(self, msg: Message) -> Message:
        return self.convert(msg, hl7_of(msg))


def _build_to_json(ctx: BuildContext) -> _Convert:
    decode = ctx.options["escapes"] == "decode"
    return _Convert(
        ctx.name, "hl7.to_json", lambda m, h: m.derive(json=hl7.to_json(h, decode=decode), content_type=JSON_TYPE)
    )


def _to_xml(m: Message, h: hl7.Hl7Message) -> Message:
    return m.derive(body=etree.tostring(hl7.to_xml(h), xml_declaration=True, encoding="UTF-8"), content_type=XML_TYPE)


class FromFormat(Transform):
    """`hl7.from_json` / `hl7.from_xml`: build ER7 from another encoding."""

    def __init__(self, name: str, kind: str, to_er7: Callable[[Message], str]) -> None:
        super().__init__(name, kind)
        self.to_er7 = to_er7

    def process(self, msg: Message) -> Message:
        try:
            text = self.to_er7(msg)
        except formats.FormatError as err:
            raise BadMessage(f"cannot build HL7 v2: {err}") from None
        return msg.derive(body=text.encode("utf-8"), content_type=ER7_TYPE)


def _build_from_json(ctx: BuildContext) -> FromFormat:
    decode = ctx.options["escapes"] == "decode"
    return FromFormat(ctx.name, "hl7.from_json", lambda m: hl7.from_json(m.json, decode=decode).to_er7())


def _build_from_xml(ctx: BuildContext) -> FromFormat:
    checked_limits(ctx)
    return FromFormat(ctx.name, "hl7.from_xml", lambda m: hl7.from_xml(xml_of(m)))


class Hl7Ack(Transform):
    """Build the ACK and make it the answer to the exchange (what `mllp.listen` sends back)."""

    def __init__(self, name: str, code: str, text: Template, error_code: int) -> None:
        super().__init__(name, "hl7.ack")
        self.code = code
        self.text = text
        self.error_code = error_code

    def process(self, msg: Message) -> Message:
        try:
            source: hl7.Hl7Message | None = hl7_of(msg)
        except BadMessage:
            if self.code == "AA":
                raise
            source = hl7.parse_header(msg.body)  # rejecting what does not parse: addressed from its MSH
        ack = hl7.build_ack(source, self.code, self.text.render(msg), error_code=self.error_code)
        reply = msg.derive(body=ack.to_bytes(), content_type=ER7_TYPE)
        msg.exchange.reply = reply
        return reply


class Hl7Validate(Transform):
    def __init__(self, name: str, required: dict[str, list[str]]) -> None:
        super().__init__(name, "hl7.validate")
        self.required = required

    def process(self, msg: Message) -> Message:
        problems = hl7.validate(hl7_of(msg), self.required)
        if problems:
            first = problems[0]
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise ValidationFailed(f"{first.location}: {first.message}{more}", details=[p.to_json() for p in problems])
        return msg


def _build_validate(ctx: BuildContext) -> Hl7Validate:
    required = ctx.options.get("required", {})
    for type_name in required:
        if "^" not in type_name and type_name != "ACK":
            raise ctx.fail(f"message type {type_name!r} should read CODE^TRIGGER, e.g. 'ORU^R01'", "required")
    return Hl7Validate(ctx.name, required)


_ESCAPES = Field(
    {"enum": ["decode", "raw"]},
    "decode: JSON holds text (\\F\\ becomes |); raw: values as written in ER7 (always lossless)",
    default="decode",
)

TO_JSON = KindSpec(
    name="hl7.to_json",
    role=Role.TRANSFORM,
    summary='Turn an HL7 v2 message into JSON: {"segments": [[id, field1, ...], ...]}, lossless.',
    description="The shape is documented in docs/formats/hl7.md; `hl7.from_json` turns it back into ER7, and "
    "the `hl7` expression view reads it as well as ER7.",
    build=_build_to_json,
    options={"escapes": _ESCAPES},
)

FROM_JSON = KindSpec(
    name="hl7.from_json",
    role=Role.TRANSFORM,
    summary="Turn the JSON form of hl7.to_json back into an ER7 message.",
    build=_build_from_json,
    options={"escapes": _ESCAPES},
)

TO_XML = KindSpec(
    name="hl7.to_xml",
    role=Role.TRANSFORM,
    summary="Turn an HL7 v2 message into XML (<HL7Message><PID><PID.5><PID.5.1>...), for XPath and XSLT.",
    description="Elements are named by position as in Mirth Connect; values keep their escape sequences, so "
    "`hl7.from_xml` gives the message back exactly.",
    build=lambda ctx: _Convert(ctx.name, "hl7.to_xml", _to_xml),
)

FROM_XML = KindSpec(
    name="hl7.from_xml",
    role=Role.TRANSFORM,
    summary="Turn HL7 v2 XML (hl7.to_xml's shape, or the standard urn:hl7-org:v2xml encoding) into ER7.",
    build=_build_from_xml,
)

ACK = KindSpec(
    name="hl7.ack",
    role=Role.SINK,
    summary="Build the HL7 ACK (AA/AE/AR) for the message and make it the reply an mllp.listen source sends.",
    description="MSA-2 echoes the control id, sender and receiver are swapped, AE/AR add an ERR segment. The ACK "
    "is sent only if every path of the flow succeeded; otherwise the source answers AE/AR itself. "
    'On an error route, `code: "AE"` answers with the error (its text defaults to the error message).',
    build=lambda ctx: Hl7Ack(ctx.name, ctx.options["code"], ctx.option_template("text"), ctx.options["error_code"]),
    options={
        "code": Field({"enum": ["AA", "AE", "AR"]}, "Acknowledgment code (MSA-1)", default="AA"),
        "text": Field(
            {"type": "string"},
            "Text for MSA-3 and ERR-8; a template",
            default='{{ headers["error-message"] }}',
            template=True,
        ),
        "error_code": Field(
            {"type": "integer", "minimum": 0},
            "HL7 error code (table 0357) in ERR for AE/AR",
            default=APPLICATION_INTERNAL_ERROR,
        ),
    },
)

VALIDATE = KindSpec(
    name="hl7.validate",
    role=Role.TRANSFORM,
    summary="Check MSH-9/10/11/12 and the segments each message type requires; list every problem.",
    description="Built-in requirements cover common types (ADT^A01: EVN, PID, PV1; ORU^R01: OBR; SIU^S12: SCH, "
    "RGS; ...); `required` adds or replaces types. A failure is `validation` with one detail per "
    "problem: location (MSH-9.2, PID), message and HL7 error code.",
    build=_build_validate,
    options={
        "required": Field(
            {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
            'Segments required per message type, e.g. {"ORU^R01": ["PID", "OBR", "OBX"]}',
            examples=({"ORU^R01": ["PID", "OBR", "OBX"]},),
        ),
    },
)
