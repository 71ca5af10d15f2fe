"""Hardened XML parsing: the only way the engine turns bytes into an lxml tree.

The parser never substitutes entities, never loads a DTD, never touches the
network, and keeps libxml2's size limits (`huge_tree=False`). On top of that
any document whose DOCTYPE declares entities is refused outright: it is the
shape of every XXE (`<!ENTITY x SYSTEM "file:///etc/passwd">`) and
entity-expansion ("billion laughs") attack, and integration messages have
no legitimate use for it. Refusals and syntax errors are `XmlError`s that
say what was wrong and on which line.

A message's document is read in chunks with a pull parser and counted as it
grows (`flowengine.formats.xmllimits`): a document past a limit is refused at
the first node too many, so a hostile one never becomes a big tree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lxml import etree

from flowengine.formats import xmllimits
from flowengine.formats.errors import FormatError
from flowengine.formats.xmllimits import Tally, XmlLimits


class XmlError(FormatError):
    """The input is not acceptable XML (malformed, or refused for safety)."""


_SAFE = {"resolve_entities": False, "no_network": True, "load_dtd": False, "dtd_validation": False, "huge_tree": False}
_CHUNK = 64 * 1024
"""Bytes fed to the pull parser at a time: the most a tree grows past a limit before it is refused."""
_EVENTS = ("start", "end", "comment", "pi")


def parse(data: bytes | str, *, remove_blank_text: bool = False, limits: XmlLimits | None = None) -> etree._Element:
    """Parse a document and return its root element, or raise `XmlError` (`XmlLimitExceeded` past a limit).

    `limits` default to the process's (`xmllimits.configured()`, from the environment).
    """
    if isinstance(data, str):
        data = data.encode("utf-8") if not data.lstrip().startswith("<?xml") else _strip_declaration(data)
    parser = etree.XMLPullParser(events=_EVENTS, remove_blank_text=remove_blank_text, **_SAFE)
    try:
        root = _read(data, parser, _Counter(limits or xmllimits.configured()))
    except etree.XMLSyntaxError as err:
        raise XmlError(_syntax_message(err), where=f"line {err.lineno}" if err.lineno else None) from None
    if root is None:
        raise XmlError("empty document")
    refuse_entities(root.getroottree())
    return root


def make_parser(*, base_url_resolver: etree.Resolver | None = None) -> etree.XMLParser:
    """A parser for a file a flow names (a stylesheet, a schema), with every network, DTD and
    entity feature off; `base_url_resolver` serves what the file includes (parsers are not
    thread-safe: one per file)."""
    parser = etree.XMLParser(**_SAFE)
    if base_url_resolver is not None:
        parser.resolvers.add(base_url_resolver)
    return parser


def parse_document(data: bytes, *, parser: etree.XMLParser, base_url: str) -> etree._ElementTree:
    """Parse a flow's own file (read through its files root, so not counted against the message
    limits) and return its tree, or raise `XmlError`. `base_url`: where relative references in it
    (an XSD's includes) start."""
    try:
        root = etree.fromstring(data, parser, base_url=base_url)
    except etree.XMLSyntaxError as err:
        raise XmlError(_syntax_message(err), where=f"line {err.lineno}" if err.lineno else None) from None
    if root is None:
        raise XmlError("empty document")
    tree: etree._ElementTree = root.getroottree()
    refuse_entities(tree)
    return tree


def _read(data: bytes, parser: etree.XMLPullParser, counter: _Counter) -> etree._Element:
    try:
        for at in range(0, len(data), _CHUNK):
            parser.feed(data[at : at + _CHUNK])
            counter.check(parser.read_events())
        root: etree._Element = parser.close()
    except etree.XMLSyntaxError:
        counter.check(parser.read_events())  # a limit passed before the error is the better reason
        raise
    counter.check(parser.read_events())
    return root


class _Counter:
    """Feeds a pull parser's events to a `Tally`: depth, position among siblings, attributes, texts.

    Each text is checked once it is complete: an element's text at its end, a
    tail when the next sibling starts or the parent ends.
    """

    __slots__ = ("open", "tally")

    def __init__(self, limits: XmlLimits) -> None:
        self.tally = Tally(limits)
        self.open: list[int] = []  # children seen so far, per open element

    def check(self, events: Iterable[tuple[str, Any]]) -> None:
        tally, open_, max_text = self.tally, self.open, self.tally.limits.text
        for event, node in events:
            # texts are compared here and worded by the tally only when too long: this runs per node
            if event == "end":
                if len(node.text or "") > max_text:
                    tally.text(node.text, node.sourceline)
                if open_.pop() and len(node[-1].tail or "") > max_text:
                    tally.text(node[-1].tail, node.sourceline)
                continue
            if open_:
                open_[-1] += 1
            tally.node(len(open_) + 1, open_[-1] if open_ else 1, node.sourceline)
            previous = node.getprevious()
            if previous is not None and len(previous.tail or "") > max_text:
                tally.text(previous.tail, node.sourceline)
            if event == "start":
                tally.attributes(len(node.attrib), node, node.sourceline)
                open_.append(0)
            elif len(node.text or "") > max_text:
                tally.text(node.text, node.sourceline)


def refuse_entities(tree: etree._ElementTree) -> None:
    dtd = tree.docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        names = ", ".join(sorted(e.name for e in dtd.iterentities()))
        raise XmlError(
            f"the DOCTYPE declares entities ({names}); entity declarations are refused "
            "(XXE and entity-expansion protection)",
            where="line 1",
        )


def _strip_declaration(text: str) -> bytes:
    # lxml refuses str input that carries an encoding declaration; the text is already decoded.
    end = text.find("?>")
    return text[end + 2 :].encode("utf-8")


def _syntax_message(err: Exception) -> str:
    msg = (getattr(err, "msg", None) or str(err)).strip()
    if "amplification" in msg or "reference loop" in msg:
        return f"entity expansion refused (entity-expansion protection): {msg}"
    return f"not well-formed XML: {msg}" if msg else "not well-formed XML"
