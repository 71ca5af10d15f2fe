"""HL7 v2 <-> XML, so XPath and XSLT apply to HL7.

`to_xml` writes the dictionary-free shape Mirth Connect uses (its "non-strict"
HL7 v2 XML): elements named by position, values as written (escape sequences
kept, so the round trip is exact), repetitions as repeated field elements.

    <HL7Message>
      <MSH><MSH.1>|</MSH.1><MSH.2>^~\\&amp;</MSH.2><MSH.3><MSH.3.1>LAB</MSH.3.1></MSH.3>...</MSH>
      <PID>...<PID.5><PID.5.1>DOE</PID.5.1><PID.5.2>JOHN</PID.5.2></PID.5>...</PID>
    </HL7Message>

An empty field is `<SEG.n/>`; a non-empty one always has component children
`SEG.n.m`, and a component with subcomponents has children `SEG.n.m.k`.

`from_xml` reads that shape, fragments of it (a lone segment or field
element, as Mirth does), and the standard HL7 v2 XML encoding
(`urn:hl7-org:v2xml`: `<PID.5><XPN.1>..`, group elements such as
`ORU_R01.PATIENT_RESULT`), placing every element by the number its name ends
with, so sparse documents fill the gaps with empty fields. The standard
encoding carries decoded text, which is escaped on the way back to ER7.

Gap filling is bounded: a document may leave at most `MAX_GAPS` positions
empty in all, so `<PID.99999999>` is refused instead of making 99,999,999
empty fields.
"""

from __future__ import annotations

import re

from lxml import etree

from flowengine.formats.errors import FormatError
from flowengine.formats.hl7 import escape
from flowengine.formats.hl7.model import Hl7Message, Segment
from flowengine.formats.hl7.separators import HEADER_SEGMENTS, Separators

ROOT = "HL7Message"
V2XML = "urn:hl7-org:v2xml"
_SEGMENT = re.compile(r"[A-Z][A-Z0-9]{2}")
_POSITION = re.compile(r"\.([1-9]\d*)$")
MAX_GAPS = 100_000
"""Empty fields, components and subcomponents one document may leave to be filled in."""


class _Gaps:
    """What is left of a document's gap-filling allowance."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = MAX_GAPS

    def fill(self, highest: int, present: int, el: etree._Element) -> None:
        self.left -= highest - present
        if self.left < 0:
            raise FormatError(
                f"<{etree.QName(el).localname}> numbers its children up to {highest}: the document leaves more "
                f"than {MAX_GAPS} positions empty",
                where=f"line {el.sourceline}",
            )


def to_xml(msg: Hl7Message) -> etree._Element:
    root = etree.Element(ROOT)
    for seg in msg.segments:
        seps = msg.separators_of(seg)
        el = etree.SubElement(root, seg.id)
        for n, raw in enumerate(seg.fields, 1):
            name = f"{seg.id}.{n}"
            if seg.is_literal(n) or not raw:
                etree.SubElement(el, name).text = raw or None
                continue
            for rep in seps.split(raw):
                field = etree.SubElement(el, name)
                if rep == [[""]]:
                    continue
                for m, subs in enumerate(rep, 1):
                    comp = etree.SubElement(field, f"{name}.{m}")
                    if len(subs) == 1:
                        comp.text = subs[0] or None
                    else:
                        for k, sub in enumerate(subs, 1):
                            etree.SubElement(comp, f"{name}.{m}.{k}").text = sub or None
    return root


def from_xml(root: etree._Element) -> str:
    """ER7 text for a message (segments each ended by CR), a segment element, or a field element."""
    standard = etree.QName(root).namespace == V2XML
    local = etree.QName(root).localname
    seps = _separators(root)
    gaps = _Gaps()
    if local != ROOT and _SEGMENT.fullmatch(local) and not _segment_elements(root):
        return _segment(root, seps, standard, gaps).to_er7(seps)
    if local != ROOT and _POSITION.search(local):
        return _field([root], seps, standard, gaps)
    segments = [_segment(el, seps, standard, gaps) for el in _segment_elements(root)]
    if not segments:
        raise FormatError(f"<{local}> holds no HL7 segment elements", where=f"line {root.sourceline}")
    return Hl7Message(tuple(segments), seps).to_er7()


def _segment_elements(el: etree._Element) -> list[etree._Element]:
    """Segments in document order; group elements (`ORU_R01.PATIENT`) are looked through."""
    out = []
    for child in el:
        if not isinstance(child.tag, str):
            continue
        if _SEGMENT.fullmatch(etree.QName(child).localname):
            out.append(child)
        else:
            out.extend(_segment_elements(child))
    return out


def _separators(root: etree._Element) -> Separators:
    """MSH-1/MSH-2 of the first header: for each, the first non-empty element, else the default.

    `_segment` writes these same values into every header, so an element repeated
    (or left empty, `<MSH.1/>`) cannot make the separators and the segment disagree.
    """
    for el in root.iter():
        if isinstance(el.tag, str) and etree.QName(el).localname in HEADER_SEGMENTS:
            values: dict[int, str] = {}
            for c in el:
                if isinstance(c.tag, str) and c.text and _position(c) in (1, 2):
                    values.setdefault(_position(c), c.text)
            if values:
                return Separators.declared(values.get(1, "|"), values.get(2, "^~\\&"), f"line {el.sourceline}")
    return Separators()


def _position(el: etree._Element) -> int:
    m = _POSITION.search(etree.QName(el).localname)
    if m is None:
        raise FormatError(
            f"element <{etree.QName(el).localname}> has no position number (e.g. PID.5)", where=f"line {el.sourceline}"
        )
    if len(m.group(1)) > 9:
        raise FormatError(f"position number {m.group(1)[:12]}... is too large", where=f"line {el.sourceline}")
    return int(m.group(1))


def _segment(el: etree._Element, seps: Separators, standard: bool, gaps: _Gaps) -> Segment:
    seg_id = etree.QName(el).localname
    by_number: dict[int, list[etree._Element]] = {}
    for child in el:
        if isinstance(child.tag, str):
            by_number.setdefault(_position(child), []).append(child)
    count = max(by_number, default=0)
    gaps.fill(count, len(by_number), el)
    literal = seg_id in HEADER_SEGMENTS
    fields = [_field(by_number.get(n, []), seps, standard, gaps) for n in range(3 if literal else 1, count + 1)]
    if literal:
        fields = [seps.field, seps.encoding][:count] + fields
    return Segment(seg_id, tuple(fields))


def _field(reps: list[etree._Element], seps: Separators, standard: bool, gaps: _Gaps) -> str:
    return seps.repetition.join(_joined(r, seps, standard, (seps.component, seps.subcomponent), gaps) for r in reps)


def _joined(el: etree._Element, seps: Separators, standard: bool, delimiters: tuple[str, ...], gaps: _Gaps) -> str:
    """An element's value: its text, or its numbered children joined with the next delimiter."""
    children = [c for c in el if isinstance(c.tag, str)]
    if not children:
        text = el.text or ""
        return escape.encode(text, seps) if standard else text
    if not delimiters or not delimiters[0]:
        raise FormatError(
            f"<{etree.QName(el).localname}> nests deeper than subcomponents", where=f"line {el.sourceline}"
        )
    by_number = {_position(c): c for c in children}
    gaps.fill(max(by_number), len(by_number), el)
    return delimiters[0].join(
        _joined(by_number[i], seps, standard, delimiters[1:], gaps) if i in by_number else ""
        for i in range(1, max(by_number) + 1)
    )
