"""Parse ER7 (the `|^~\\&` pipe encoding) into an `Hl7Message`, strictly and with clear errors.

Accepted: segments ended by CR, LF or CRLF (mixed too), blank lines between
them, a UTF-8 byte-order mark, any delimiters the header declares (3 to 5
encoding characters), Z-segments, trailing empty fields, one message, several
messages back to back, or FHS/BHS batches, each MSH with its own delimiters.
In a batch or stream, a message with a broken segment is refused alone (kept
in `rejected` with its number) and the others are kept. Bytes are decoded with the charset
MSH-18 names (UTF-8 when it names none; table 0211's names and Python's codec
names both work); an unknown name is refused only when a byte is not ASCII. Refused, each with the segment it
concerns: no MSH/FHS/BHS first, bad encoding characters, a segment id that is
not three capitals/digits starting with a capital, raw control characters, a
batch whose headers and trailers do not nest, or a batch without messages.
"""

from __future__ import annotations

import codecs
import re

from flowengine.formats.errors import FormatError
from flowengine.formats.hl7.errors import DATA_TYPE_ERROR, Hl7SyntaxError
from flowengine.formats.hl7.model import Hl7Message, Rejected, Segment
from flowengine.formats.hl7.separators import HEADER_SEGMENTS, Separators

_LINES = re.compile(r"\r\n|\r|\n")
_FIRST_LINE = re.compile(rb"[\r\n]")
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MSH = re.compile(r"(?:^|[\r\n])MSH(.)")
_BOM = b"\xef\xbb\xbf"
_ASCII_PROBE = "MSH|^~\\&\r"

# MSH-18 names (HL7 table 0211, and the ISO-IR registrations it cites) for the ASCII-compatible charsets we
# decode; any other name Python's codecs know (`ISO-8859-1`, `8859`, `latin-1`, `cp1252`) is accepted too.
CHARSETS = {
    "": "utf-8",
    "ASCII": "utf-8",
    "ISO IR6": "utf-8",
    "UNICODE": "utf-8",
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",
    "8859/1": "iso8859-1",
    "8859/2": "iso8859-2",
    "8859/3": "iso8859-3",
    "8859/4": "iso8859-4",
    "8859/5": "iso8859-5",
    "8859/6": "iso8859-6",
    "8859/7": "iso8859-7",
    "8859/8": "iso8859-8",
    "8859/9": "iso8859-9",
    "8859/15": "iso8859-15",
    "ISO IR100": "iso8859-1",
    "ISO IR101": "iso8859-2",
    "ISO IR109": "iso8859-3",
    "ISO IR110": "iso8859-4",
    "ISO IR144": "iso8859-5",
    "ISO IR127": "iso8859-6",
    "ISO IR126": "iso8859-7",
    "ISO IR138": "iso8859-8",
    "ISO IR148": "iso8859-9",
    "GB 18030-2000": "gb18030",
    "KS X 1001": "euc_kr",
    "BIG-5": "big5",
    "ISO IR87": "iso2022_jp",
}


def parse(data: bytes | str) -> Hl7Message:
    """Parse one message, several, or a batch. Raises `FormatError` saying what and where."""
    if isinstance(data, bytes):
        text, charset = _decode(data)
    else:
        text, charset = data.removeprefix("\ufeff"), "utf-8"
    lines = [(n, line) for n, line in enumerate(_LINES.split(text), 1) if line.strip()]
    if not lines:
        raise FormatError("empty message: no segments")
    first_no, first = lines[0]
    seg_id = first[:3]
    if seg_id not in HEADER_SEGMENTS:
        raise Hl7SyntaxError(
            f"a message starts with MSH (or FHS/BHS for a batch), not {first[:3]!r}", where=f"segment {first_no}"
        )
    seps = _declared(first, first_no)
    several = seg_id != "MSH" or sum(line.startswith("MSH") for _, line in lines) > 1
    kept: list[tuple[int, Segment]] = []
    rejected: list[Rejected] = []
    lines_of: list[str] = []  # the current message's lines, to hand a refused one on as written
    outer = current = seps  # the batch header's and the current header's separators
    start, message, skipping, in_message = 0, 0, False, False
    for n, line in lines:
        seg_id = line[:3]
        if seg_id in (*HEADER_SEGMENTS, "BTS", "FTS"):
            start, message, skipping, lines_of = len(kept), message + (seg_id == "MSH"), False, []
            in_message = seg_id == "MSH"
            current = outer if seg_id in ("BTS", "FTS") else current
        lines_of.append(line)
        if skipping:
            rejected[-1] = Rejected(message, rejected[-1].error, "\r".join(lines_of) + "\r")
            continue
        try:
            if seg_id in HEADER_SEGMENTS:
                current = _declared(line, n)
                outer = current if seg_id != "MSH" else outer
            kept.append((n, _segment(line, n, current, None if current == seps else current)))
        except FormatError as err:
            if not several or not in_message:
                raise  # one message, or the batch's own segments: nothing to keep apart
            rejected.append(Rejected(message, err, "\r".join(lines_of) + "\r"))
            del kept[start:]
            skipping = True
    if rejected and not any(seg.id == "MSH" for _, seg in kept):
        raise rejected[0].error
    _check_structure(tuple(seg for _, seg in kept), [n for n, _ in kept])
    return Hl7Message(tuple(seg for _, seg in kept), seps, charset, tuple(rejected))


def _declared(line: str, n: int) -> Separators:
    """The separators a header line declares (each MSH of a batch or stream may choose its own)."""
    where = f"segment {n} ({line[:3]})"
    if len(line) < 4:
        raise Hl7SyntaxError("header has no field separator", where=where, location=line[:3])
    field_sep = line[3]
    return Separators.declared(field_sep, line[4:].split(field_sep, 1)[0], where)


def parse_header(data: bytes) -> Hl7Message | None:
    """The first segment alone, to address a NAK for a message that does not parse whole: its
    MSH names the sender, control id and version. None when even that is unreadable."""
    try:
        return parse(_FIRST_LINE.split(data.removeprefix(_BOM), maxsplit=1)[0])
    except FormatError:
        return None


def _decode(data: bytes) -> tuple[str, str]:
    if data.startswith(_BOM):
        return _decoded(data[len(_BOM) :], "utf-8", "a UTF-8 byte-order mark"), "utf-8"
    declared = _declared_charset(data)
    charset = charset_codec(declared)
    if charset is None:
        if data.isascii():  # whatever the name means, ASCII reads as ASCII in every charset we decode
            return data.decode("ascii"), "utf-8"
        offset = next(i for i, b in enumerate(data) if b > 0x7F)
        raise FormatError(
            f"MSH-18 names charset {declared!r}, which is not known, and byte 0x{data[offset]:02X} at offset "
            f"{offset} is not ASCII, so it cannot be decoded; declare a known charset in MSH-18 (HL7 table 0211: "
            "ASCII, UNICODE UTF-8, 8859/1 to 8859/9, 8859/15, GB 18030-2000, KS X 1001, BIG-5, ISO IR87)"
        )
    return _decoded(data, charset, f"MSH-18 {declared!r}" if declared else "no MSH-18, so UTF-8"), charset


def charset_codec(name: str) -> str | None:
    """The Python codec for an MSH-18 value: table 0211's names, else a codec Python knows that reads
    ASCII as ASCII (UTF-16/32 cannot be told apart from the ER7 around them); None when unknown."""
    known = CHARSETS.get(" ".join(name.upper().split()))
    if known is not None:
        return known
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    return codec if _ASCII_PROBE.encode(codec, "replace") == _ASCII_PROBE.encode("ascii") else None


def _decoded(data: bytes, charset: str, name: str) -> str:
    try:
        return data.decode(charset)
    except UnicodeDecodeError as err:
        raise FormatError(
            f"byte 0x{data[err.start]:02X} at offset {err.start} is not valid {charset} "
            f"({name}); declare the real charset in MSH-18, e.g. '8859/1'"
        ) from None


def _declared_charset(data: bytes) -> str:
    """MSH-18's first value, read before decoding (every supported charset is ASCII-compatible)."""
    head = data[:4096].decode("latin-1")
    m = _MSH.search(head)
    if m is None:
        return ""
    line = _LINES.split(head[m.start(1) - 3 :], 1)[0]
    parts = line[4:].split(m.group(1))
    if len(parts) < 17 or len(parts[0]) < 2:
        return ""
    rep, comp = parts[0][1], parts[0][0]
    return parts[16].split(rep)[0].split(comp)[0].strip()


def _segment(line: str, n: int, seps: Separators, own: Separators | None) -> Segment:
    """One segment split with `seps`; `own` is kept on it when they are not the message's first."""
    seg_id = line[:3]
    if not _SEGMENT_ID.fullmatch(seg_id) or (len(line) > 3 and line[3] != seps.field):
        shown = line[:20] + ("..." if len(line) > 20 else "")
        raise Hl7SyntaxError(
            f"{shown!r} does not start with a segment id (3 capitals or digits, the first a "
            f"capital) followed by {seps.field!r}; wrapped or joined lines?",
            where=f"segment {n}",
        )
    bad = _CONTROL.search(line)
    if bad:
        field = line[: bad.start()].count(seps.field) + (1 if seg_id in HEADER_SEGMENTS else 0)
        raise Hl7SyntaxError(
            f"control character U+{ord(bad.group()):04X} at column {bad.start() + 1}; "
            "control characters must be escaped",
            where=f"segment {n} ({seg_id})",
            location=f"{seg_id}-{field}" if field else seg_id,
            code=DATA_TYPE_ERROR,
        )
    if seg_id in HEADER_SEGMENTS:
        encoding, _, rest = line[4:].partition(seps.field)
        tail = tuple(rest.split(seps.field)) if seps.field in line[4:] else ()
        return Segment(seg_id, (seps.field, encoding, *tail), own)
    return Segment(seg_id, tuple(line[4:].split(seps.field)) if len(line) > 3 else (), own)


def _check_structure(segments: tuple[Segment, ...], numbers: list[int]) -> None:
    """FHS [BHS {MSH ...} BTS] FTS nesting, each batch and file holding at least one message."""
    open_: list[tuple[str, int]] = []  # ("FHS"|"BHS", messages seen inside)
    messages = 0
    for seg, n in zip(segments, numbers, strict=True):
        where = f"segment {n} ({seg.id})"
        if seg.id in ("FHS", "BHS"):
            if any(kind == seg.id for kind, _ in open_) or (seg.id == "FHS" and (open_ or messages)):
                inside = f"inside an open {open_[-1][0]}" if open_ else "after the first message"
                raise Hl7SyntaxError(f"{seg.id} {inside}; batches and files do not nest", where=where, location=seg.id)
            open_.append((seg.id, 0))
        elif seg.id in ("BTS", "FTS"):
            header = "BHS" if seg.id == "BTS" else "FHS"
            if not open_ or open_[-1][0] != header:
                raise Hl7SyntaxError(f"{seg.id} without a matching {header}", where=where, location=seg.id)
            kind, count = open_.pop()
            if count == 0:
                raise Hl7SyntaxError(
                    f"{'batch' if kind == 'BHS' else 'file'} holds no message (no MSH)", where=where, location=seg.id
                )
            if open_:
                open_[-1] = (open_[-1][0], open_[-1][1] + count)
        elif seg.id == "MSH":
            messages += 1
            if open_:
                open_[-1] = (open_[-1][0], open_[-1][1] + 1)
    if open_:
        kind, count = open_[-1]
        if count == 0:
            raise FormatError(f"{'batch' if kind == 'BHS' else 'file'} holds no message (no MSH)")
    if messages == 0:
        raise FormatError("no MSH segment: nothing here is a message")
