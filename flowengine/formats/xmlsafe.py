"""Hardened XML parsing: the only way the engine turns bytes into an lxml tree.

The parser never substitutes entities, never loads a DTD, never touches the
network, and keeps libxml2's size limits (`huge_tree=False`). On top of that
any document whose DOCTYPE declares entities is refused outright: it is the
shape of every XXE (`<!ENTITY x SYSTEM "file:///etc/passwd">`) and
entity-expansion ("billion laughs") attack, and integration messages have
no legitimate use for it. Refusals and syntax errors are `XmlError`s that
say what was wrong and on which line.
"""

from __future__ import annotations

from lxml import etree

from flowengine.formats.errors import FormatError


class XmlError(FormatError):
    """The input is not acceptable XML (malformed, or refused for safety)."""


def make_parser(*, remove_blank_text: bool = False) -> etree.XMLParser:
    """A new parser with every network, DTD and entity feature off (parsers are not thread-safe)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=remove_blank_text,
    )


_PARSER = make_parser()


def parse(data: bytes | str, *, parser: etree.XMLParser | None = None, base_url: str | None = None) -> etree._Element:
    """Parse a document and return its root element, or raise `XmlError`. `base_url`: where
    relative references in it (an XSD's includes) start."""
    if isinstance(data, str):
        data = data.encode("utf-8") if not data.lstrip().startswith("<?xml") else _strip_declaration(data)
    try:
        root = etree.fromstring(data, parser or _PARSER, base_url=base_url)
    except etree.XMLSyntaxError as err:
        raise XmlError(_syntax_message(err), where=f"line {err.lineno}" if err.lineno else None) from None
    if root is None:
        raise XmlError("empty document")
    refuse_entities(root.getroottree())
    return root


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
