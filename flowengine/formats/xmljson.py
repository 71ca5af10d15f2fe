"""XML <-> JSON with one documented, reversible convention (docs/formats/xml.md).

    <order id="7" xmlns:x="urn:x">         {"order": {
      <x:line>a</x:line>                      "@id": "7", "@xmlns:x": "urn:x",
      <x:line>b</x:line>                      "x:line": ["a", "b"],
      <note lang="en">hi</note>               "note": {"@lang": "en", "#text": "hi"},
      <empty/>                                "empty": "",
      <gone xsi:nil="true" xmlns:xsi=".."/>   "gone": null
    </order>                               }}

- The document is an object with one key, the root element's name.
- An element with neither attributes nor children is its text (a string;
  `""` when empty); `xsi:nil="true"` alone is `null`.
- Otherwise it is an object: `"@name"` for each attribute and each namespace
  declaration (`"@xmlns"`, `"@xmlns:p"`), a key per child element name, and
  `"#text"` for text when there are no child elements.
- Same-named siblings become a list, in order; `lists=` names elements that
  are always lists, even with a single occurrence.
- Names keep their prefixes as written (`"x:line"`); a prefix must be
  declared by an `@xmlns:p` on the element or an ancestor.
- JSON numbers and booleans are written as text and read back as strings.

JSON -> XML -> JSON is the identity on the "canonical" JSON those rules
produce: scalars are strings or null; an object has at least one attribute or
child, has `#text` only with an attribute and no children (and then not
`""`); lists appear only under element keys and hold at least two items
(unless named in `lists`), none of them lists. Outside that domain a
conversion is still made, documented as lossy: comments and processing
instructions are dropped, text mixed between child elements is joined into
`#text`, and same-named siblings separated by others are grouped.

JSON -> XML counts the tree it builds against the XML limits
(`flowengine.formats.xmllimits`), so a JSON body cannot make a document the
engine would refuse to read.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from lxml import etree

from flowengine.formats import xmllimits
from flowengine.formats.errors import FormatError
from flowengine.formats.xmllimits import Tally, XmlLimits

TEXT = "#text"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_NIL = f"{{{XSI}}}nil"
_XML_NS = "http://www.w3.org/XML/1998/namespace"
_NAME = re.compile(r"(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)")
_ATTRIBUTES = etree.XPath("@*")
"""An element's attributes with their values in one pass (`attrib.items()` looks each value up by name:
quadratic in the number of attributes)."""


# --- XML -> JSON ---------------------------------------------------------------------
def to_json(root: etree._Element, *, lists: Collection[str] = ()) -> dict[str, Any]:
    """The JSON value of a document whose root element is `root`."""
    return {_qname(root): _element(root, frozenset(lists), {})}


def _qname(el: etree._Element) -> str:
    return f"{el.prefix}:{etree.QName(el).localname}" if el.prefix else etree.QName(el).localname


def _element(el: etree._Element, lists: frozenset[str], scope: dict[str | None, str]) -> Any:
    declared = {p: u for p, u in el.nsmap.items() if scope.get(p) != u}
    inner = {**scope, **declared}
    children = [c for c in el if isinstance(c.tag, str)]
    if el.get(_NIL) == "true" and len(el.attrib) == 1 and not children and not el.text:
        return None
    obj: dict[str, Any] = {}
    for prefix, uri in declared.items():
        obj["@xmlns" if prefix is None else f"@xmlns:{prefix}"] = uri
    if el.attrib:
        for value in _ATTRIBUTES(el):
            obj["@" + _attr_name(el, value.attrname)] = str(value)
    text = el.text or ""
    if not children:
        if not obj:
            return text
        if text:
            obj[TEXT] = text
        return obj
    groups: dict[str, list[Any]] = {}
    for child in children:
        groups.setdefault(_qname(child), []).append(_element(child, lists, inner))
    for key, values in groups.items():
        obj[key] = values if len(values) > 1 or key in lists else values[0]
    mixed = text + "".join(c.tail or "" for c in el)
    if mixed.strip():
        obj[TEXT] = mixed
    return obj


def _attr_name(el: etree._Element, name: str) -> str:
    q = etree.QName(name)
    if q.namespace is None:
        return name
    if q.namespace == _XML_NS:
        return f"xml:{q.localname}"
    prefix = next((p for p, u in el.nsmap.items() if u == q.namespace and p), None)
    return f"{prefix}:{q.localname}" if prefix else q.localname


# --- JSON -> XML ---------------------------------------------------------------------
def from_json(doc: Any, *, root: str | None = None, limits: XmlLimits | None = None) -> etree._Element:
    """The element tree for `doc` (`{"root": ...}`, or any value under `root=`).

    `XmlLimitExceeded` when the tree would pass `limits` (default: the process's).
    """
    if root is not None:
        doc = {root: doc}
    if not isinstance(doc, dict) or len(doc) != 1:
        raise FormatError(
            "expected an object with exactly one key, the root element's name (or set the root element's name)",
            where="/",
        )
    ((name, value),) = doc.items()
    if isinstance(value, list):
        raise FormatError(
            f'the root <{name}> cannot be a list; wrap it, e.g. {{"{name}s": {{"{name}": [...]}}}}', where=f"/{name}"
        )
    where = f"/{_pointer(name)}"
    tally = Tally(limits or xmllimits.configured())
    tally.node(1, 1, where)
    return _build(None, name, value, {}, where, tally, 1)


def _build(
    parent: etree._Element | None,
    name: str,
    value: Any,
    scope: dict[str | None, str],
    where: str,
    tally: Tally,
    depth: int,
) -> etree._Element:
    decls = _declarations(value, where) if isinstance(value, dict) else {}
    inner = {**scope, **decls}
    nsmap = dict(decls)
    if value is None and inner.get("xsi") != XSI:
        nsmap["xsi"] = XSI
    tag = _tag(name, inner, where)
    try:
        el = (
            etree.Element(tag, nsmap=nsmap or None)
            if parent is None
            else etree.SubElement(parent, tag, nsmap=nsmap or None)
        )
    except ValueError as err:
        raise FormatError(f"cannot make element {name!r}: {err}", where=where) from None
    if value is None:
        el.set(_NIL, "true")
    elif isinstance(value, dict):
        _fill(el, value, inner, where, tally, depth)
    else:
        _set_text(el, _scalar(value, where), where, tally)
    return el


def _declarations(obj: dict[str, Any], where: str) -> dict[str | None, str]:
    out: dict[str | None, str] = {}
    for key, uri in obj.items():
        if key == "@xmlns" or key.startswith("@xmlns:"):
            if not isinstance(uri, str) or not uri:
                raise FormatError(f"namespace {key} must be a non-empty string", where=f"{where}/{_pointer(key)}")
            out[None if key == "@xmlns" else key[7:]] = uri
    return out


def _fill(
    el: etree._Element, obj: dict[str, Any], scope: dict[str | None, str], where: str, tally: Tally, depth: int
) -> None:
    attributes = children = 0
    for key, value in obj.items():
        at = f"{where}/{_pointer(key)}"
        if key == "@xmlns" or key.startswith("@xmlns:"):
            continue
        if key.startswith("@"):
            attributes += 1
            tally.attributes(attributes, el, at)
            tag, text = _attr_tag(key[1:], scope, at), _scalar(value, at)
            tally.text(text, at)
            try:
                el.set(tag, text)
            except ValueError as err:
                raise FormatError(f"cannot set attribute {key[1:]!r}: {err}", where=at) from None
        elif key == TEXT:
            _set_text(el, _scalar(value, at), at, tally)
        else:
            for i, item in enumerate(value) if isinstance(value, list) else ((None, value),):
                at_item = at if i is None else f"{at}/{i}"
                if isinstance(item, list):
                    raise FormatError("a list inside a list has no XML form", where=at_item)
                children += 1
                tally.node(depth + 1, children, at_item)
                _build(el, key, item, scope, at_item, tally, depth + 1)


def _tag(name: str, scope: dict[str | None, str], where: str) -> str:
    m = _NAME.fullmatch(name)
    if m is None:
        raise FormatError(f"{name!r} is not an XML element name", where=where)
    prefix, local = m.groups()
    if prefix is None:
        uri = scope.get(None)
        return f"{{{uri}}}{local}" if uri else local
    if prefix not in scope:
        raise FormatError(f'prefix {prefix!r} of {name!r} is not declared (add "@xmlns:{prefix}")', where=where)
    return f"{{{scope[prefix]}}}{local}"


def _attr_tag(name: str, scope: dict[str | None, str], where: str) -> str:
    m = _NAME.fullmatch(name)
    if m is None:
        raise FormatError(f"{name!r} is not an XML attribute name", where=where)
    prefix, local = m.groups()
    if prefix is None:
        return local
    if prefix == "xml":
        return f"{{{_XML_NS}}}{local}"
    if prefix not in scope:
        raise FormatError(f'prefix {prefix!r} of {name!r} is not declared (add "@xmlns:{prefix}")', where=where)
    return f"{{{scope[prefix]}}}{local}"


def _scalar(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    if value is None:
        return ""
    raise FormatError(f"expected text, a number or a boolean here, got {type(value).__name__}", where=where)


def _set_text(el: etree._Element, text: str, where: str, tally: Tally) -> None:
    tally.text(text, where)
    try:
        el.text = text or None
    except ValueError as err:
        raise FormatError(f"text cannot be written as XML: {err}", where=where) from None


def _pointer(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
