"""flowengine.formats.xmllimits: hostile XML shapes are refused while they are read or built.

Issue 19: 100,000 attributes or 200,000 siblings in one message took the engine down.
"""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from flowengine.formats import xmljson, xmlsafe
from flowengine.formats.xmllimits import XmlLimitExceeded, XmlLimits

SMALL = XmlLimits(attributes=3, children=4, depth=3, elements=10, text=5)
UNLIMITED = XmlLimits(attributes=10**9, children=10**9, depth=10**9, elements=10**9, text=10**9)


def refused(data: bytes, limits: XmlLimits | None = None) -> XmlLimitExceeded:
    with pytest.raises(XmlLimitExceeded) as caught:
        xmlsafe.parse(data, limits=limits)
    return caught.value


def attributes(n: int) -> bytes:
    return b"<a " + b" ".join(b'a%d="1"' % i for i in range(n)) + b"/>"


# --- the findings, with the default limits --------------------------------------------
def test_100000_attributes_are_refused_naming_the_limit() -> None:
    err = refused(attributes(100_000))
    assert str(err) == "line 1: <a> has more than 1000 attributes (limit FLOWENGINE_XML_MAX_ATTRIBUTES)"
    assert err.limit == "attributes" and not err.too_large


def test_200000_siblings_are_refused_naming_the_limit() -> None:
    err = refused(b"<r>" + b"<b/>" * 200_000 + b"</r>")
    assert str(err) == "line 1: an element has more than 10000 children (limit FLOWENGINE_XML_MAX_CHILDREN)"


def test_defaults_accept_a_document_at_every_limit() -> None:
    at_limits = b"<r>" + b"<p>" + b"<b/>" * 9_999 + b"</p>" + b"<d>" * 98 + b"</d>" * 98 + b"</r>"
    root = xmlsafe.parse(at_limits)
    assert len(root[0]) == 9_999
    assert len(xmlsafe.parse(attributes(1_000)).attrib) == 1_000


# --- each limit, small -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("doc", "limit", "message"),
    [
        (b'<r a="1" b="2" c="3" d="4"/>', "attributes", "<r> has more than 3 attributes"),
        (b"<r><b/><b/><b/><b/><b/></r>", "children", "an element has more than 4 children"),
        (b"<r><!--1--><?p?><b/><b/><b/></r>", "children", "an element has more than 4 children"),
        (b"<r><a><b><c/></b></a></r>", "depth", "elements nest more than 3 deep"),
        (b"<r>" + b"<p><b/><b/><b/></p>" * 3 + b"</r>", "elements", "more than 10 elements"),
        (b"<r>123456</r>", "text", "a text of more than 5 characters"),
        (b"<r><b/>123456</r>", "text", "a text of more than 5 characters"),
        (b"<r><b/>123456<b/></r>", "text", "a text of more than 5 characters"),
        (b"<r><!--123456--></r>", "text", "a text of more than 5 characters"),
    ],
)
def test_each_limit_is_refused_with_its_name(doc: bytes, limit: str, message: str) -> None:
    err = refused(doc, SMALL)
    assert err.limit == limit
    assert str(err) == f"line 1: {message} (limit FLOWENGINE_XML_MAX_{limit.upper()})"
    assert err.too_large == (limit in ("elements", "text"))


def test_a_document_within_small_limits_is_read_whole() -> None:
    root = xmlsafe.parse(b'<r a="1"><p>12345<b/>tail</p><!--c--></r>', limits=SMALL)
    assert etree.tostring(root) == b'<r a="1"><p>12345<b/>tail</p><!--c--></r>'


def test_the_line_of_the_node_too_many_is_named() -> None:
    assert str(refused(b"<r>\n<b/>\n<b/>\n<b/>\n<b/>\n<b/></r>", SMALL)).startswith("line 6: ")


def test_depth_is_our_limit_not_a_libxml2_syntax_error() -> None:
    err = refused(b"<a>" * 300 + b"</a>" * 300)
    assert err.limit == "depth"


def test_entity_and_syntax_refusals_are_unchanged() -> None:
    with pytest.raises(xmlsafe.XmlError, match="not well-formed XML"):
        xmlsafe.parse(b"<r><b></r>", limits=SMALL)
    with pytest.raises(xmlsafe.XmlError, match="declares entities"):
        xmlsafe.parse(b'<!DOCTYPE r [<!ENTITY x "y">]><r/>', limits=SMALL)


# --- bounded work: a refused document is not read to its end ---------------------------
class FeedCounter:
    """A pull parser that counts the bytes it was fed."""

    def __init__(self) -> None:
        self.parser = etree.XMLPullParser(events=("start", "end", "comment", "pi"))
        self.fed = 0

    def feed(self, data: bytes) -> None:
        self.fed += len(data)
        self.parser.feed(data)

    def read_events(self) -> Any:
        return self.parser.read_events()

    def close(self) -> Any:
        return self.parser.close()


@pytest.mark.parametrize("siblings", [20_000, 200_000, 2_000_000])
def test_reading_stops_within_one_chunk_of_the_limit_whatever_the_size(siblings: int) -> None:
    parser = FeedCounter()
    with pytest.raises(XmlLimitExceeded):
        xmlsafe._read(b"<r>" + b"<b/>" * siblings + b"</r>", parser, xmlsafe._Counter(XmlLimits()))  # type: ignore[arg-type]
    assert parser.fed == 64 * 1024


# --- configuration ----------------------------------------------------------------------
def test_limits_come_from_the_environment() -> None:
    env = {"FLOWENGINE_XML_MAX_DEPTH": "12", "FLOWENGINE_XML_MAX_TEXT": " 99 ", "OTHER": "x"}
    assert XmlLimits.from_env(env) == XmlLimits(depth=12, text=99)
    assert XmlLimits.from_env({}) == XmlLimits(attributes=1_000, children=10_000, depth=100, elements=100_000)


@pytest.mark.parametrize("value", ["0", "-1", "ten", "1.5", ""])
def test_a_bad_environment_value_is_named(value: str) -> None:
    with pytest.raises(ValueError) as caught:
        XmlLimits.from_env({"FLOWENGINE_XML_MAX_CHILDREN": value})
    assert str(caught.value) == f"FLOWENGINE_XML_MAX_CHILDREN={value!r} is not a positive whole number"


# --- JSON -> XML is bounded the same way --------------------------------------------------
@pytest.mark.parametrize(
    ("doc", "where", "message"),
    [
        ({"r": {"b": [""] * 5}}, "/r/b/4", "an element has more than 4 children (limit FLOWENGINE_XML_MAX_CHILDREN)"),
        ({"r": {"a": {"b": {"c": ""}}}}, "/r/a/b/c", "elements nest more than 3 deep (limit FLOWENGINE_XML_MAX_DEPTH)"),
        (
            {"r": {"@a": 1, "@b": 2, "@c": 3, "@d": 4}},
            "/r/@d",
            "<r> has more than 3 attributes (limit FLOWENGINE_XML_MAX_ATTRIBUTES)",
        ),
        ({"r": "123456"}, "/r", "a text of more than 5 characters (limit FLOWENGINE_XML_MAX_TEXT)"),
        ({"r": {"@a": "123456"}}, "/r/@a", "a text of more than 5 characters (limit FLOWENGINE_XML_MAX_TEXT)"),
        ({"r": {"p": [{"b": ["", ""]}] * 4}}, "/r/p/3", "more than 10 elements (limit FLOWENGINE_XML_MAX_ELEMENTS)"),
    ],
)
def test_from_json_refuses_what_the_parser_would_refuse(doc: Any, where: str, message: str) -> None:
    with pytest.raises(XmlLimitExceeded) as caught:
        xmljson.from_json(doc, limits=SMALL)
    assert (caught.value.where, caught.value.reason) == (where, message)


def test_from_json_of_deep_json_is_a_limit_not_a_recursion_error() -> None:
    doc: Any = ""
    for _ in range(5_000):
        doc = {"d": doc}
    with pytest.raises(XmlLimitExceeded, match="nest more than 100 deep"):
        xmljson.from_json({"r": doc})


def test_from_json_within_limits_round_trips() -> None:
    doc = {"r": {"@a": "1", "p": ["12345", {"b": "x"}]}}
    assert xmljson.to_json(xmlsafe.parse(etree.tostring(xmljson.from_json(doc, limits=SMALL)), limits=SMALL)) == doc


# --- XML -> JSON is linear in attributes ---------------------------------------------------
def test_to_json_of_many_attributes_completes_and_keeps_order() -> None:
    # lxml's attrib.items() looks each value up by name: 100,000 attributes took 64 s before.
    root = xmlsafe.parse(b'<a xmlns:p="urn:p" ' + attributes(100_000)[3:-2] + b' p:z="2"/>', limits=UNLIMITED)
    obj = xmljson.to_json(root)["a"]
    assert len(obj) == 100_002
    assert list(obj)[:3] == ["@xmlns:p", "@a0", "@a1"] and obj["@p:z"] == "2"
