"""Paths into an HL7 v2 message: `PID-5.1`, `PID-3[2].1`, `OBX[*]-5`.

    SEG[i]-F[r].C.S
    SEG   segment id                 PID, OBX, ZPD
    [i]   which SEG (1-based) or *   default 1
    F     field number               MSH-9; MSH-1/MSH-2 are the separators
    [r]   which repetition or *      default 1
    C, S  component, subcomponent    default 1 each when reading a value

Reading a value (`msg["PID-5"]`, `msg.get(...)`) follows HAPI's Terser: a
level the path leaves out means its first item, so `PID-5` is the family
name, and the result is decoded text (escapes resolved). Empty and absent
values are both `None`: HL7 does not tell them apart. Each `*` makes the
result a list (one level per `*`). `msg.raw(path)` instead returns ER7 text
with the left-out levels whole: `raw("PID-5")` is the field with every
repetition, `raw("PID")` the segment.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from flowengine.formats.hl7.separators import Separators


class Segment(Protocol):
    """What a lookup reads of a segment (model.Segment is one): path.py names no model class, so
    model.py can import `lookup` without an import loop."""

    def field(self, n: int) -> str: ...
    def is_literal(self, n: int) -> bool: ...
    def to_er7(self, seps: Separators) -> str: ...


class Hl7Message(Protocol):
    """What a lookup reads of a message (model.Hl7Message is one)."""

    def separators_of(self, seg: Any) -> Separators: ...
    def all(self, segment_id: str) -> Sequence[Segment]: ...
    def decode(self, raw: str, seps: Separators | None = None) -> str: ...


_PATH = re.compile(
    r"(?P<seg>[A-Z][A-Z0-9]{2})(?:\[(?P<si>[1-9]\d*|\*)\])?"
    r"(?:-(?P<f>[1-9]\d*)(?:\[(?P<r>[1-9]\d*|\*)\])?(?:\.(?P<c>[1-9]\d*)(?:\.(?P<s>[1-9]\d*))?)?)?"
)
ALL = 0
"""An index of `*`."""


class PathError(ValueError):
    """A path that does not follow `SEG[i]-F[r].C.S` (a flow's mistake, not the message's)."""


@dataclass(frozen=True, slots=True)
class Path:
    segment: str
    index: int | None
    field: int | None
    repetition: int | None
    component: int | None
    subcomponent: int | None


@lru_cache(maxsize=1024)
def parse_path(text: str) -> Path:
    m = _PATH.fullmatch(text.strip())
    if m is None:
        raise PathError(
            f"invalid HL7 path {text!r}: expected SEG[i]-F[r].C.S, e.g. 'PID-5.1', 'PID-3[2].1', 'OBX[*]-5'"
        )

    def num(name: str) -> int | None:
        v = m.group(name)
        return None if v is None else ALL if v == "*" else int(v)

    return Path(m["seg"], num("si"), num("f"), num("r"), num("c"), num("s"))


def lookup(msg: Hl7Message, path: str, *, raw: bool) -> Any:
    p = parse_path(path)
    segments = msg.all(p.segment)
    if p.index == ALL:
        return [_in_segment(msg, s, p, raw) for s in segments]
    i = p.index or 1
    return _in_segment(msg, segments[i - 1], p, raw) if i <= len(segments) else None


def _in_segment(msg: Hl7Message, seg: Segment, p: Path, raw: bool) -> Any:
    seps = msg.separators_of(seg)
    if p.field is None:
        return seg.to_er7(seps)
    text = seg.field(p.field)
    if seg.is_literal(p.field):
        return text
    if raw and p.repetition is None and p.component is None:
        return text
    reps = seps.split(text) if text else []
    if p.repetition == ALL:
        return [_in_repetition(msg, seps, rep, p, raw) for rep in reps]
    r = p.repetition or 1
    if r > len(reps):
        return None if not raw else ""
    return _in_repetition(msg, seps, reps[r - 1], p, raw)


def _in_repetition(msg: Hl7Message, seps: Separators, rep: list[list[str]], p: Path, raw: bool) -> Any:
    if raw and p.component is None:
        return seps.join([rep])
    c = p.component or 1
    if c > len(rep):
        return None if not raw else ""
    subs = rep[c - 1]
    if raw and p.subcomponent is None:
        return seps.subcomponent.join(subs)
    s = p.subcomponent or 1
    value = subs[s - 1] if s <= len(subs) else ""
    if raw:
        return value
    return msg.decode(value, seps) if value else None
