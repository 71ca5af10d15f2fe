"""Structural checks of HL7 v2 messages: the header fields a receiver needs, and the
segments each message type requires.

`validate` lists every problem (never just the first), each with a location
(`MSH-9.2`, a segment id) and the HL7 error code (table 0357) an ACK's ERR
segment carries. `REQUIRED` holds the segments the standard's abstract
message syntax requires at the top level for common types (v2.3 to v2.8
agree on these); a flow adds or overrides types with its own table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flowengine.formats.hl7.errors import REQUIRED_FIELD_MISSING, SEGMENT_SEQUENCE_ERROR
from flowengine.formats.hl7.model import Hl7Message

_ADT = ("EVN", "PID", "PV1")
_SIU = ("SCH", "RGS")
_MDM = ("EVN", "PID", "PV1", "TXA")
REQUIRED: dict[str, tuple[str, ...]] = {
    **{f"ADT^A{n:02d}": _ADT for n in (1, 2, 3, 4, 5, 6, 7, 8, 13)},
    "ADT^A40": ("EVN", "PID", "MRG"),
    "ACK": ("MSA",),
    "BAR^P01": ("EVN", "PID"),
    "DFT^P03": ("EVN", "PID"),
    **{f"MDM^T{n:02d}": _MDM for n in (1, 2, 3, 4)},
    "MFN^M02": ("MFI",),
    "OML^O21": ("ORC",),
    "ORM^O01": ("ORC",),
    "ORU^R01": ("OBR",),
    "RDE^O11": ("ORC", "RXE"),
    "RSP^K22": ("MSA", "QAK", "QPD"),
    **{f"SIU^S{n}": _SIU for n in range(12, 27)},
    "VXU^V04": ("PID",),
}

_HEADER = (
    ("MSH-9.1", "message type (MSH-9.1)"),
    ("MSH-10", "message control id (MSH-10)"),
    ("MSH-11", "processing id (MSH-11)"),
    ("MSH-12", "version (MSH-12)"),
)


@dataclass(frozen=True, slots=True)
class Problem:
    location: str
    message: str
    code: int = REQUIRED_FIELD_MISSING

    def to_json(self) -> dict[str, object]:
        return {"location": self.location, "message": self.message, "hl7_error_code": self.code}


def validate(msg: Hl7Message, required: Mapping[str, Sequence[str]] | None = None) -> list[Problem]:
    """Every problem of every message in `msg` (a batch is checked message by message)."""
    table = {**REQUIRED, **(required or {})}
    problems: list[Problem] = []
    for n, one in enumerate(msg.messages(), 1):
        prefix = f"message {n}: " if msg.count("MSH") > 1 else ""
        problems.extend(Problem(p.location, prefix + p.message, p.code) for p in _one(one, table))
    return problems


def _one(msg: Hl7Message, table: Mapping[str, Sequence[str]]) -> list[Problem]:
    problems = [Problem(path, f"{what} is empty") for path, what in _HEADER if not msg[path]]
    code = msg["MSH-9.1"]
    if code and code != "ACK" and not msg["MSH-9.2"]:
        problems.append(Problem("MSH-9.2", f"trigger event (MSH-9.2) is empty in message type {code!r}"))
    present = {s.id for s in msg.segments}
    for seg in table.get(msg.message_type, table.get(code or "", ())):
        if seg not in present:
            problems.append(
                Problem(seg, f"{msg.message_type} requires a {seg} segment; none found", SEGMENT_SEQUENCE_ERROR)
            )
    return problems
