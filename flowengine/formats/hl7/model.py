"""The parsed form of an HL7 v2 message (or batch): segments holding raw field text.

Fields are kept exactly as they arrived (escape sequences and all) and split
into repetitions, components and subcomponents only when read. That makes
serialising lossless by construction and parsing cheap: a flow that reads
three fields of a 40-segment message splits three fields.

    field     = repetition ~ repetition ...
    repetition = component ^ component ...
    component  = subcomponent & subcomponent ...

Numbering is HL7's: fields, repetitions, components and subcomponents count
from 1; in MSH (and FHS/BHS) field 1 is the field separator itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flowengine.formats.errors import FormatError
from flowengine.formats.hl7 import escape
from flowengine.formats.hl7.path import lookup
from flowengine.formats.hl7.separators import HEADER_SEGMENTS, Separators


@dataclass(frozen=True, slots=True)
class Segment:
    """A segment: its 3-character id and its fields' raw text (`fields[0]` is field 1).

    `separators` is set when the segment's header declared other delimiters than the
    first header of its batch or stream (HL7 lets each MSH choose); None means the message's.
    """

    id: str
    fields: tuple[str, ...]
    separators: Separators | None = None

    def field(self, n: int) -> str:
        """Raw text of field `n` (1-based); "" past the end."""
        return self.fields[n - 1] if 0 < n <= len(self.fields) else ""

    def is_literal(self, n: int) -> bool:
        """Fields 1 and 2 of a header segment are the separators: never split or unescaped."""
        return n <= 2 and self.id in HEADER_SEGMENTS

    def to_er7(self, seps: Separators) -> str:
        seps = self.separators or seps
        if self.id in HEADER_SEGMENTS and len(self.fields) >= 2:
            return self.id + self.fields[0] + seps.field.join(self.fields[1:])
        return seps.field.join((self.id, *self.fields))


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message of a batch or stream refused alone: its number (from 1, in order), why, and its
    text as written (segments ended by CR), so a `split` can hand it on to fail on its own."""

    index: int
    error: FormatError
    er7: str

    def __str__(self) -> str:
        return f"message {self.index}: {self.error}"


class Hl7Message:
    """A message, or a batch/file of messages (FHS/BHS ... BTS/FTS), as one list of segments.

    Read values with paths (`msg["PID-5.1"]`, `msg.get("OBX[*]-5")`, see
    `flowengine.formats.hl7.path`); `to_er7()` gives the text back, byte for
    byte what was parsed apart from segment terminators (always CR) and a BOM.
    """

    __slots__ = ("charset", "rejected", "segments", "separators")

    def __init__(
        self,
        segments: tuple[Segment, ...],
        separators: Separators,
        charset: str = "utf-8",
        rejected: tuple[Rejected, ...] = (),
    ) -> None:
        self.segments = segments
        self.separators = separators
        self.charset = charset
        self.rejected = rejected  # messages of a batch or stream that parse refused, each alone

    def separators_of(self, seg: Segment) -> Separators:
        """The delimiters `seg` is written in: its own header's, else the message's."""
        return seg.separators or self.separators

    # --- whole-message text -------------------------------------------------------
    def to_er7(self, terminator: str = "\r") -> str:
        """The message as ER7 text, each segment followed by `terminator`."""
        return "".join(s.to_er7(self.separators) + terminator for s in self.segments)

    def to_bytes(self) -> bytes:
        return self.to_er7().encode(self.charset)

    # --- navigation ----------------------------------------------------------------
    def all(self, segment_id: str) -> list[Segment]:
        return [s for s in self.segments if s.id == segment_id]

    def first(self, segment_id: str) -> Segment | None:
        return next((s for s in self.segments if s.id == segment_id), None)

    def messages(self) -> Iterator[Hl7Message]:
        """Each MSH and the segments up to the next MSH or batch trailer/header, in its own delimiters
        (`rejected` lists the messages parse refused)."""
        current: list[Segment] = []
        for seg in self.segments:
            if seg.id in ("MSH", "FHS", "BHS", "BTS", "FTS") and current:
                yield self._one(current)
                current = []
            if seg.id == "MSH" or current:
                current.append(seg)
        if current:
            yield self._one(current)

    def _one(self, segments: list[Segment]) -> Hl7Message:
        seps = self.separators_of(segments[0])
        return Hl7Message(tuple(Segment(s.id, s.fields) for s in segments), seps, self.charset)

    def decode(self, raw: str, seps: Separators | None = None) -> str:
        """Unescape one raw value with this message's (or a segment's own) separators and its charset."""
        return escape.decode(raw, seps or self.separators, self.charset)

    # --- header shortcuts, decoded ----------------------------------------------------
    def _header(self, n: int, component: int = 1) -> str:
        return lookup(self, f"MSH-{n}.{component}", raw=False) or ""

    @property
    def message_type(self) -> str:
        """MSH-9.1 and MSH-9.2 as `ORU^R01` (always with `^`, whatever the component separator)."""
        code, trigger = self._header(9, 1), self._header(9, 2)
        return f"{code}^{trigger}" if trigger else code

    @property
    def control_id(self) -> str:
        return self._header(10)

    @property
    def version(self) -> str:
        return self._header(12)

    # --- paths (see flowengine.formats.hl7.path) ------------------------------------
    def get(self, path: str, default: Any = None) -> Any:
        """The decoded value at `path`, a list where the path has `[*]`, `default` if absent."""
        value = lookup(self, path, raw=False)
        return default if value is None else value

    def __getitem__(self, path: str) -> Any:
        return self.get(path)

    def raw(self, path: str) -> Any:
        """The ER7 text at `path`, undecoded; a level the path leaves out is returned whole."""
        return lookup(self, path, raw=True)

    def count(self, segment_id: str) -> int:
        return sum(1 for s in self.segments if s.id == segment_id)

    def rows(self, segment_id: str, **columns: str) -> list[dict[str, Any]]:
        """One dict per `segment_id` segment, each column a path relative to it (`"5"`, `"3.1"`).

        `hl7.rows("OBX", code="3.1", value="5", units="6.1")` lists every result.
        """
        # one pass over the segments: looking each one up by index would be quadratic
        only = {k: f"{segment_id}-{rel}" for k, rel in columns.items()}
        return [
            {k: lookup(Hl7Message((seg,), self.separators, self.charset), p, raw=False) for k, p in only.items()}
            for seg in self.all(segment_id)
        ]

    def __repr__(self) -> str:
        return f"<Hl7Message {self.message_type or '?'} {self.control_id!r} ({len(self.segments)} segments)>"
