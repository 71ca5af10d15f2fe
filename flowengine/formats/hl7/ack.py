"""Acknowledgements (original mode): AA accept, AE error, AR reject.

The ACK answers in the message's own delimiters, swaps sender and receiver
(MSH-3/4 <-> MSH-5/6), keeps processing id and version, names the trigger
(`ACK^R01`, plus `^ACK` when the message gave a structure in MSH-9.3), and
echoes the control id in MSA-2. AE/AR carry the reason in MSA-3 and an ERR
segment: from v2.5 in ERR-3 (code, table 0357), ERR-4 (severity) and ERR-8
(text); before v2.5 in ERR-1 (segment^sequence^field^code&text&table).

    AE  the message content is wrong: the sender must not resend it unchanged
    AR  refused for reasons unrelated to content (system unavailable, a sink
        down): the sender may resend later
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from flowengine.formats.hl7 import escape
from flowengine.formats.hl7.errors import APPLICATION_INTERNAL_ERROR, ERROR_TEXT
from flowengine.formats.hl7.model import Hl7Message, Segment
from flowengine.formats.hl7.separators import Separators

CODES = ("AA", "AE", "AR", "CA", "CE", "CR")
_TEXT_LIMIT = 80


def build_ack(
    msg: Hl7Message | None,
    code: str = "AA",
    text: str = "",
    *,
    error_code: int = APPLICATION_INTERNAL_ERROR,
    location: str = "",
    control_id: str | None = None,
    now: datetime | None = None,
) -> Hl7Message:
    """The ACK for `msg`; `msg=None` (the input was not HL7) gives an AR/AE with default delimiters."""
    if code not in CODES:
        raise ValueError(f"ACK code must be one of {', '.join(CODES)}, got {code!r}")
    msh = msg.first("MSH") if msg is not None else None
    seps = msg.separators_of(msh) if msg is not None and msh is not None else Separators()
    msh = msh or Segment("MSH", (seps.field, seps.encoding))
    f = msh.field
    version = f(12)
    trigger_parts = seps.split(f(9))[0] if f(9) else [[""]]
    trigger = trigger_parts[1][0] if len(trigger_parts) > 1 else ""
    msg_type = seps.component.join(["ACK", trigger] + (["ACK"] if len(trigger_parts) > 2 else [])) if trigger else "ACK"
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S%z")
    header = Segment(
        "MSH",
        (
            seps.field,
            seps.encoding,
            f(5),
            f(6),
            f(3),
            f(4),
            stamp,
            "",
            msg_type,
            control_id or uuid.uuid4().hex[:20],
            f(11) or "P",
            version or "2.5",
        ),
    )
    detail = escape.encode(text[:_TEXT_LIMIT], seps)
    segments = [header, Segment("MSA", (code, f(10), detail) if detail else (code, f(10)))]
    if code[1] != "A":
        segments.append(_err(seps, version, error_code, location, escape.encode(text, seps)))
    return Hl7Message(tuple(segments), seps, msg.charset if msg is not None else "utf-8")


def _err(seps: Separators, version: str, code: int, location: str, text: str) -> Segment:
    c, s = seps.component, seps.subcomponent or seps.component
    seg, _, field = location.partition("-")
    where = [seg, "1" if seg else "", field.split(".")[0]]
    code_text = [str(code), ERROR_TEXT.get(code, ""), "HL70357"]
    if _before_25(version):
        return Segment("ERR", (c.join([*where, s.join(code_text)]),))
    return Segment("ERR", ("", c.join(where) if seg else "", c.join(code_text), "E", "", "", "", text))


def _before_25(version: str) -> bool:
    try:
        major, minor = (int(p) for p in version.split(".")[:2])
    except ValueError:
        return False
    return (major, minor) < (2, 5)


def ack_code(ack: Hl7Message) -> tuple[str, str]:
    """(MSA-1, the reason: ERR-8, else MSA-3) of a received ACK."""
    return ack["MSA-1"] or "", ack["ERR-8"] or ack["MSA-3"] or ""
