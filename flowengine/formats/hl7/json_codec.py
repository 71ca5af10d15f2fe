"""HL7 v2 <-> JSON: a flat, ordered, lossless shape.

    {"segments": [
        ["MSH", "|", "^~\\\\&", "LAB", ..., {"1": "ORU", "2": "R01"}, "CTRL-1", ...],
        ["PID", "1", "", ["123", {"1": "456", "4": ...}], ...]
    ]}

Each segment is an array whose item 0 is the segment id and item n is field n
(so `segments[i][5]` is PID-5), trailing empty fields included. A field is:

    ""                      empty
    "text"                  one repetition, one component, one subcomponent
    {"1": c1, "2": c2 ...}  one repetition of several components (all listed)
    [rep, rep, ...]         several repetitions, each "text" or {components}

and a component is "text" or, when it has subcomponents, {"1": s1, "2": s2 ...}.
A repetition holding a single component with subcomponents is
`{"1": {"1": s1, ...}}`, so every shape reads one way only.

Values are decoded text by default (`\\F\\` -> `|`); `escapes="raw"` keeps them
as written, which makes HL7 -> JSON -> HL7 exact for any message. Decoded
JSON -> HL7 re-escapes every delimiter and control character, so it always
parses, and it is exact unless the message used escapes decoding does not
invert one to one (formatting escapes, lone escape characters, hex; see
docs/formats/hl7.md for the list). MSH-1/MSH-2 (and FHS/BHS) are
the separators, never decoded; each header's apply to the segments up to the next header.
"""

from __future__ import annotations

from typing import Any

from flowengine.formats.errors import FormatError
from flowengine.formats.hl7 import escape
from flowengine.formats.hl7.model import Hl7Message, Segment
from flowengine.formats.hl7.separators import HEADER_SEGMENTS, Separators


def to_json(msg: Hl7Message, *, decode: bool = True) -> dict[str, Any]:
    def field(seg: Segment, n: int, raw: str) -> Any:
        if seg.is_literal(n) or not raw:
            return raw
        seps = msg.separators_of(seg)

        def text(raw: str) -> str:
            return msg.decode(raw, seps) if decode else raw

        def component(subs: list[str]) -> Any:
            return text(subs[0]) if len(subs) == 1 else _numbered(text(s) for s in subs)

        def repetition(comps: list[list[str]]) -> Any:
            if len(comps) == 1 and len(comps[0]) == 1:
                return text(comps[0][0])
            return _numbered(component(c) for c in comps)

        reps = seps.split(raw)
        return repetition(reps[0]) if len(reps) == 1 else [repetition(r) for r in reps]

    return {"segments": [[s.id, *(field(s, n, f) for n, f in enumerate(s.fields, 1))] for s in msg.segments]}


def _numbered(items: Any) -> dict[str, Any]:
    return {str(i): v for i, v in enumerate(items, 1)}


def from_json(doc: Any, *, decode: bool = True, charset: str = "utf-8") -> Hl7Message:
    """The message a `to_json` document describes; `FormatError` with a JSON pointer otherwise."""
    segments = doc.get("segments") if isinstance(doc, dict) else None
    if not isinstance(segments, list) or not segments:
        raise FormatError(
            'expected an object {"segments": [[id, field1, ...], ...]} with at least one segment', where="/"
        )
    first = _separators(segments[0], "/segments/0")
    seps, out = first, []
    for i, item in enumerate(segments):
        if isinstance(item, list) and item and item[0] in HEADER_SEGMENTS:  # each header its own delimiters
            seps = _separators(item, f"/segments/{i}")
        seg = _segment(item, i, seps, decode)
        out.append(Segment(seg.id, seg.fields, None if seps == first else seps))
    return Hl7Message(tuple(out), first, charset)


def _separators(header: Any, where: str) -> Separators:
    if not (
        isinstance(header, list)
        and len(header) >= 3
        and header[0] in HEADER_SEGMENTS
        and isinstance(header[1], str)
        and isinstance(header[2], str)
    ):
        what = "the first segment must be a header" if where == "/segments/0" else "a header segment must be"
        raise FormatError(f'{what} ["MSH", "|", "^~\\\\&", ...]', where=where)
    return Separators.declared(header[1], header[2], where)


def _segment(item: Any, i: int, seps: Separators, decode: bool) -> Segment:
    where = f"/segments/{i}"
    if not (isinstance(item, list) and item and isinstance(item[0], str)):
        raise FormatError("expected a segment [id, field1, field2, ...]", where=where)
    seg = Segment(item[0], ())
    fields = []
    for n, value in enumerate(item[1:], 1):
        if seg.is_literal(n):
            if value != (seps.field, seps.encoding)[n - 1]:
                raise FormatError(f"must repeat the separators {seps.field + seps.encoding!r}", where=f"{where}/{n}")
            fields.append(value)
        else:
            fields.append(_field(value, f"{where}/{n}", seps, decode))
    return Segment(item[0], tuple(fields))


def _field(value: Any, where: str, seps: Separators, decode: bool) -> str:
    if isinstance(value, list):
        if len(value) < 2:
            raise FormatError("a list means repetitions and needs at least two", where=where)
        return seps.repetition.join(_repetition(v, f"{where}/{i}", seps, decode) for i, v in enumerate(value))
    return _repetition(value, where, seps, decode)


def _repetition(value: Any, where: str, seps: Separators, decode: bool) -> str:
    if isinstance(value, dict):
        return seps.component.join(_component(v, f"{where}/{k}", seps, decode) for k, v in _dense(value, where))
    return _leaf(value, where, seps, decode)


def _component(value: Any, where: str, seps: Separators, decode: bool) -> str:
    if isinstance(value, dict):
        if not seps.subcomponent:
            raise FormatError("subcomponents, but MSH-2 declares no subcomponent separator", where=where)
        return seps.subcomponent.join(_leaf(v, f"{where}/{k}", seps, decode) for k, v in _dense(value, where))
    return _leaf(value, where, seps, decode)


def _dense(obj: dict[str, Any], where: str) -> list[tuple[str, Any]]:
    keys = [str(i) for i in range(1, len(obj) + 1)]
    if sorted(obj, key=lambda k: (len(k), k)) != keys:
        raise FormatError(f'component keys must be "1".."{len(obj)}" with none missing, got {list(obj)}', where=where)
    return [(k, obj[k]) for k in keys]


def _leaf(value: Any, where: str, seps: Separators, decode: bool) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FormatError(f"expected a string, got {type(value).__name__}", where=where)
    if decode:
        return escape.encode(value, seps)
    if any(c and c in value for c in (seps.field, seps.component, seps.repetition, seps.subcomponent, "\r", "\n")):
        raise FormatError("a raw value holds a delimiter or line break; escape it, or use decoded values", where=where)
    return value
