"""XML node kinds and the `xml` expression view (libraries: `flowengine.formats.xmlsafe`, `xmljson`).

Bodies are parsed with the hardened parser only (no entities, no DTDs, no
network) and once per message (`xml_of`). XPath expressions, stylesheets and
schemas are compiled when the flow loads, so a typo is a lint error at the
line that holds it, not a failure at the first message.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lxml import etree

from flowengine import formats
from flowengine.compile.build import BuildContext
from flowengine.compile.files import FileRefused, FileRoot
from flowengine.compile.spec import Field, KindSpec, MappingUse, Role
from flowengine.core.message import Message
from flowengine.core.nodes import Transform
from flowengine.errors import (
    BadMessage,
    MessageError,
    MessageTooComplex,
    MessageTooLarge,
    NodeFailed,
    ValidationFailed,
)
from flowengine.expressions.compiled import Template
from flowengine.formats import xmljson, xmllimits, xmlsafe
from flowengine.formats.xmllimits import XmlLimitExceeded, XmlLimits

XML_TYPE = "application/xml"
_PROBE = etree.fromstring(b"<probe/>")


def _parse(msg: Message) -> etree._Element:
    try:
        return xmlsafe.parse(msg.body)
    except formats.FormatError as err:
        raise refusal(err, "body is not acceptable XML") from None


def xml_of(msg: Message) -> etree._Element:
    """The body's root element, parsed once per message: the one way kinds and views read XML.

    BadMessage if it is not XML; MessageTooLarge / MessageTooComplex past an XML limit.
    """
    root: etree._Element = msg.view("xml", _parse)
    return root


def refusal(err: formats.FormatError, what: str) -> MessageError:
    """The message error for bad XML: past a size limit 413, past a shape limit 422, else 400."""
    if isinstance(err, XmlLimitExceeded):
        return (MessageTooLarge if err.too_large else MessageTooComplex)(f"XML refused: {err}")
    return BadMessage(f"{what}: {err}")


def checked_limits(ctx: BuildContext) -> XmlLimits:
    """The process's XML limits; a bad FLOWENGINE_XML_MAX_* value fails the flow at this node."""
    try:
        return xmllimits.configured()
    except ValueError as err:
        raise ctx.fail(f"XML limits: {err}") from None


def xpath_value(result: Any) -> Any:
    """An XPath result as JSON: node-sets give None (empty), one value, or a list; numbers stay numbers."""
    if isinstance(result, list):
        values = [_node_value(r) for r in result]
        return None if not values else values[0] if len(values) == 1 else values
    if isinstance(result, float) and result.is_integer():
        return int(result)
    return str(result) if isinstance(result, str) else result


def _node_value(node: Any) -> Any:
    if isinstance(node, etree._Element):
        return "".join(node.itertext())
    return str(node) if isinstance(node, str) else node


class XmlView:
    """`xml` in expressions: `xml.xpath("/order/@id")`, `xml["/order/total"]`."""

    __slots__ = ("_root",)

    def __init__(self, root: etree._Element) -> None:
        self._root = root

    def xpath(self, expr: str, **namespaces: str) -> Any:
        return xpath_value(self._root.xpath(expr, namespaces=namespaces or None))

    def __getitem__(self, expr: str) -> Any:
        return self.xpath(expr)


def view(msg: Message) -> XmlView:
    return XmlView(xml_of(msg))


# --- xml.xpath ----------------------------------------------------------------------
class XPathExtract(Transform):
    def __init__(self, name: str, fields: list[tuple[tuple[str, ...], etree.XPath]]) -> None:
        super().__init__(name, "xml.xpath")
        self.fields = fields

    def process(self, msg: Message) -> Message:
        root = xml_of(msg)
        out: dict[str, Any] = {}
        for path, xp in self.fields:
            try:
                _put(out, path, xpath_value(xp(root)))
            except etree.XPathEvalError as err:
                raise NodeFailed(f"XPath {xp.path!r} failed: {err}") from None
        return msg.derive(json=out)


def _put(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value


def _build_xpath(ctx: BuildContext) -> XPathExtract:
    checked_limits(ctx)
    namespaces = ctx.options.get("namespaces") or None
    fields = []
    for entry in ctx.mapping:
        try:
            xp = etree.XPath(entry.expr, namespaces=namespaces)
            xp(_PROBE)  # unknown prefixes and functions show now, not at the first message
        except (etree.XPathSyntaxError, etree.XPathEvalError) as err:
            raise ctx.fail(
                f"XPath {entry.expr!r} does not compile: {err}",
                code="E130",
                hint='declare prefixes in `namespaces: {"p": "urn:..."}`',
            ) from None
        fields.append(((entry.path,) if entry.quoted else tuple(entry.path.split(".")), xp))
    return XPathExtract(ctx.name, fields)


# --- xml.xslt -----------------------------------------------------------------------
class Xslt(Transform):
    def __init__(self, name: str, transform: etree.XSLT, params: dict[str, Template], content_type: str) -> None:
        super().__init__(name, "xml.xslt")
        self.transform = transform
        self.params = params
        self.content_type = content_type

    def process(self, msg: Message) -> Message:
        params = {k: etree.XSLT.strparam(t.render(msg)) for k, t in self.params.items()}
        try:
            result = self.transform(xml_of(msg), **params)
        except etree.XSLTApplyError as err:
            raise NodeFailed(f"XSLT failed: {err}") from None
        return msg.derive(body=bytes(result), content_type=self.content_type)


class _RootResolver(etree.Resolver):
    """Loads what a schema or stylesheet includes (`xs:include`, `xs:import`, `xsl:include`) through
    the flow's files root; anything else gets an empty document, so the include fails to compile."""

    def __init__(self, files: FileRoot) -> None:
        super().__init__()
        self.files = files

    def resolve(self, url: str | None, pubid: str | None, context: Any) -> Any:
        path = Path(os.path.normpath(str(url or "").removeprefix("file://")))
        try:
            _, data = self.files.at(self.files.root).read_bytes(str(path.relative_to(self.files.root)))
        except (ValueError, FileRefused):
            return self.resolve_string(b"", context)
        return self.resolve_string(data, context, base_url=str(path))


def _load(ctx: BuildContext, option: str) -> etree._ElementTree:
    path, data = ctx.read_file(option)
    parser = xmlsafe.make_parser(base_url_resolver=_RootResolver(ctx.files))
    try:
        return xmlsafe.parse_document(data, parser=parser, base_url=str(path))
    except formats.FormatError as err:
        raise ctx.fail(f"cannot read '{ctx.options[option]}': {err}", option, code="E150") from None


def _build_xslt(ctx: BuildContext) -> Xslt:
    checked_limits(ctx)
    tree = _load(ctx, "file")
    try:
        transform = etree.XSLT(tree, access_control=etree.XSLTAccessControl.DENY_ALL)
    except etree.XSLTParseError as err:
        raise ctx.fail(f"stylesheet does not compile: {err}", "file", code="E150") from None
    params = {k: ctx.template(str(v), ctx.span_of("params")) for k, v in ctx.options.get("params", {}).items()}
    return Xslt(ctx.name, transform, params, ctx.options["content_type"])


# --- xml.from_json / xml.to_json ----------------------------------------------------
class FromJson(Transform):
    def __init__(self, name: str, root: str | None, pretty: bool, limits: XmlLimits) -> None:
        super().__init__(name, "xml.from_json")
        self.root = root
        self.pretty = pretty
        self.limits = limits

    def process(self, msg: Message) -> Message:
        try:
            tree = xmljson.from_json(msg.json, root=self.root, limits=self.limits)
        except formats.FormatError as err:
            raise refusal(err, "cannot write this JSON as XML") from None
        body = etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=self.pretty)
        return msg.derive(body=body, content_type=XML_TYPE)


class ToJson(Transform):
    def __init__(self, name: str, lists: frozenset[str]) -> None:
        super().__init__(name, "xml.to_json")
        self.lists = lists

    def process(self, msg: Message) -> Message:
        return msg.derive(json=xmljson.to_json(xml_of(msg), lists=self.lists))


def _build_to_json(ctx: BuildContext) -> ToJson:
    checked_limits(ctx)
    return ToJson(ctx.name, frozenset(ctx.options.get("lists", ())))


# --- xml.validate -------------------------------------------------------------------
class XsdValidate(Transform):
    def __init__(self, name: str, schema: etree.XMLSchema) -> None:
        super().__init__(name, "xml.validate")
        self.schema = schema

    def process(self, msg: Message) -> Message:
        root = xml_of(msg)
        if self.schema.validate(root):
            return msg
        errors = [{"line": e.line, "path": e.path, "message": e.message} for e in self.schema.error_log]
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise ValidationFailed(f"line {first['line']}: {first['message']}{more}", details=errors)


def _build_validate(ctx: BuildContext) -> XsdValidate:
    checked_limits(ctx)
    tree = _load(ctx, "schema")
    try:
        return XsdValidate(ctx.name, etree.XMLSchema(tree))
    except etree.XMLSchemaParseError as err:
        raise ctx.fail(f"schema does not compile: {err}", "schema", code="E150") from None


XPATH = KindSpec(
    name="xml.xpath",
    role=Role.TRANSFORM,
    summary="Extract values from an XML body into a JSON object, one XPath 1.0 expression per field.",
    description="Each line `field: xpath` sets one field. A node-set gives null when empty, its string value "
    "when it has one node, and a list otherwise; count() and sum() give numbers.",
    build=_build_xpath,
    mapping=MappingUse.REQUIRED,
    options={
        "namespaces": Field(
            {"type": "object", "additionalProperties": {"type": "string"}},
            'Prefixes the expressions use, e.g. {"o": "urn:example:orders"}',
        )
    },
)

XSLT = KindSpec(
    name="xml.xslt",
    role=Role.TRANSFORM,
    summary="Transform an XML body with an XSLT 1.0 stylesheet, compiled when the flow loads.",
    description="The stylesheet may not read or write files or the network while it runs.",
    build=_build_xslt,
    options={
        "file": Field({"type": "string"}, "The stylesheet (.xsl), found like json.validate's schema", required=True),
        "params": Field(
            {"type": "object", "additionalProperties": {"type": "string"}},
            "Stylesheet parameters (strings); values are templates",
            template=True,
        ),
        "content_type": Field({"type": "string"}, "Content type of the result", default=XML_TYPE),
    },
)

FROM_JSON = KindSpec(
    name="xml.from_json",
    role=Role.TRANSFORM,
    summary="Write a JSON body as XML with the reversible convention of docs/formats/xml.md.",
    build=lambda ctx: FromJson(ctx.name, ctx.options.get("root"), ctx.options["pretty"], checked_limits(ctx)),
    options={
        "root": Field(
            {"type": "string", "minLength": 1},
            'Root element name; when set the whole body is its content, else the body is {"root": ...}',
        ),
        "pretty": Field({"type": "boolean"}, "Indent the output", default=False),
    },
)

TO_JSON = KindSpec(
    name="xml.to_json",
    role=Role.TRANSFORM,
    summary="Read an XML body as JSON with the reversible convention of docs/formats/xml.md.",
    build=_build_to_json,
    options={
        "lists": Field(
            {"type": "array", "items": {"type": "string"}},
            "Element names that are always JSON lists, even when they occur once",
            examples=(["line", "item"],),
        )
    },
)

VALIDATE = KindSpec(
    name="xml.validate",
    role=Role.TRANSFORM,
    summary="Validate an XML body against an XSD; every error is listed with its line.",
    build=_build_validate,
    options={
        "schema": Field({"type": "string"}, "The XML Schema (.xsd), found like json.validate's schema", required=True)
    },
)
