"""HL7 v2 escape sequences: decode a raw value into text, and encode text back.

With the escape character E (usually `\\`), a value may hold:

    EFE EST ETE ERE EEE EPE   the field, component, subcomponent, repetition,
                              escape and truncation characters as data
    EXhh..E                   bytes in hex, decoded with the message's charset
    E.brE                     a line break, decoded as "\\n"

Other sequences (highlighting `EHE`/`ENE`, formatting `E.sp E`, `E.in E`...,
character-set switches `ECxxyyE`/`EMxxyyzzE`, locally defined `EZ..E`) have
no plain-text equivalent: decoding keeps them as written, as it keeps an
escape character that is not part of a sequence. Encoding escapes every
delimiter, and every control character but tab (CR, LF, NUL... as `EX0DE`, `EX0AE`,
`EX00E`), which ER7 cannot carry raw: whatever `decode` returns, `encode`
writes back as a value the parser accepts. It leaves the v2.7 truncation
character as it is: senders that declare `#` in MSH-2 still write it
unescaped in data ("LAB ID# 12"). So `encode(decode(v)) == v` whenever `v`
uses only the first two rows above (and no `EPE`); raw access keeps every
value exact.
"""

from __future__ import annotations

from functools import lru_cache

from flowengine.formats.hl7.separators import Separators

_CODES = {"F": "field", "S": "component", "T": "subcomponent", "R": "repetition", "E": "escape", "P": "truncation"}


def decode(raw: str, seps: Separators, charset: str = "utf-8") -> str:
    """The text a raw value stands for."""
    esc = seps.escape
    if not esc or esc not in raw:
        return raw
    out: list[str] = []
    pos = 0
    while True:
        start = raw.find(esc, pos)
        end = raw.find(esc, start + 1) if start >= 0 else -1
        if end < 0:
            out.append(raw[pos:])
            return "".join(out)
        out.append(raw[pos:start])
        seq = raw[start + 1 : end]
        text = _sequence(seq, seps, charset)
        out.append(raw[start : end + 1] if text is None else text)
        pos = end + 1


def _sequence(seq: str, seps: Separators, charset: str) -> str | None:
    if len(seq) == 1 and seq in _CODES:
        return getattr(seps, _CODES[seq]) or None
    if seq == ".br":
        return "\n"
    if seq[:1] == "X" and len(seq) > 1 and len(seq) % 2 == 1:
        try:
            return bytes.fromhex(seq[1:]).decode(charset)
        except (ValueError, LookupError):
            return None
    return None


def encode(text: str, seps: Separators) -> str:
    """Raw text for a value: delimiters and control characters escaped."""
    table = _table(seps)
    if not any(c in text for c in table):
        return text
    return "".join(table.get(c, c) for c in text)


@lru_cache(maxsize=32)
def _table(seps: Separators) -> dict[str, str]:
    e = seps.escape
    table = {chr(b): f"{e}X{b:02X}{e}" for b in (*range(0x20), 0x7F) if b != 0x09}  # a tab may stay raw
    for code, name in _CODES.items():
        char = getattr(seps, name)
        if char and code != "P":
            table[char] = f"{e}{code}{e}"
    return table
