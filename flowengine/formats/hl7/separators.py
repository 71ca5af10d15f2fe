"""The encoding characters a message declares in MSH-1 and MSH-2 (or FHS/BHS).

HL7 v2 lets every message choose its own delimiters, so nothing here assumes
`|^~\\&`: the parser reads them from the header and everything downstream
(splitting, escaping, serialising, ACKs) uses the message's own.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowengine.formats.errors import FormatError

Tree = list[list[list[str]]]
"""One field split: repetitions -> components -> subcomponents (raw text)."""

HEADER_SEGMENTS = ("MSH", "FHS", "BHS")
"""Segments whose fields 1 and 2 are the separators themselves, never split or escaped."""


@dataclass(frozen=True, slots=True)
class Separators:
    """`field` is MSH-1; `encoding` is MSH-2 exactly as written (3 to 5 characters).

    MSH-2 holds, in order: component, repetition, escape, subcomponent and
    (from v2.7) truncation. Some old senders stop after the escape character;
    then there is no subcomponent level.
    """

    field: str = "|"
    encoding: str = "^~\\&"

    @property
    def component(self) -> str:
        return self.encoding[0]

    @property
    def repetition(self) -> str:
        return self.encoding[1]

    @property
    def escape(self) -> str:
        return self.encoding[2]

    @property
    def subcomponent(self) -> str:
        return self.encoding[3] if len(self.encoding) > 3 else ""

    @property
    def truncation(self) -> str:
        return self.encoding[4] if len(self.encoding) > 4 else ""

    def split(self, raw: str) -> Tree:
        """A raw field as repetitions of components of subcomponents."""
        sub = self.subcomponent
        return [[c.split(sub) if sub else [c] for c in rep.split(self.component)] for rep in raw.split(self.repetition)]

    def join(self, tree: Tree) -> str:
        """The inverse of `split`."""
        return self.repetition.join(self.component.join(self.subcomponent.join(s) for s in rep) for rep in tree)

    @classmethod
    def declared(cls, field: str, encoding: str, where: str) -> Separators:
        """Check a header's MSH-1/MSH-2 and return them; a clear error otherwise."""
        if len(field) != 1 or not _usable(field):
            raise FormatError(f"field separator (MSH-1) {field!r} is not a single punctuation character", where=where)
        if not 3 <= len(encoding) <= 5:
            raise FormatError(
                f"encoding characters (MSH-2) {encoding!r} must be 3 to 5 characters "
                "(component, repetition, escape[, subcomponent[, truncation]]), e.g. '^~\\&'",
                where=where,
            )
        bad = [c for c in encoding if not _usable(c)]
        if bad:
            raise FormatError(
                f"encoding character {bad[0]!r} in MSH-2 {encoding!r} is a letter, digit, space or control character",
                where=where,
            )
        if len(set(encoding + field)) != len(encoding) + 1:
            raise FormatError(
                f"MSH-1 {field!r} and MSH-2 {encoding!r} repeat a character; each delimiter must be distinct",
                where=where,
            )
        return cls(field, encoding)


def _usable(c: str) -> bool:
    return c.isprintable() and not c.isalnum() and not c.isspace()
