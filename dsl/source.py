"""Flow text from bytes: the one place a `.flow` file's bytes become text.

Every entry (lint, fmt, graph, test, run, deploy, the API) reads flow bytes
through `decode`, so they agree on what a flow's text is: UTF-8, a leading
byte-order mark dropped, CRLF line ends read as LF (the parser counts lines by
LF alone). Bytes that are not UTF-8 are a diagnostic, E005, at the line and
column of the first bad byte, never a `UnicodeDecodeError`. Text that arrives
already decoded (an editor's buffer, a JSON string) may hold lone surrogates,
which no UTF-8 file can: `check_text` reports those the same way.
"""

from __future__ import annotations

import re
from pathlib import Path

from dsl.ast import Span
from dsl.diagnostics import Diagnostic

BOM = b"\xef\xbb\xbf"
_SURROGATE = re.compile("[\ud800-\udfff]")
_HINT = "save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)"


class SourceError(Exception):
    """The bytes are not flow text; `diagnostic` says where."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(diagnostic.headline())
        self.diagnostic = diagnostic


def decode(data: bytes, path: str = "<string>") -> str:
    """The text of a flow's bytes. Raises SourceError (E005) when they are not UTF-8."""
    if data.startswith(BOM):
        data = data[len(BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise SourceError(_bad_byte(data, err.start, path)) from None
    return text.replace("\r\n", "\n")


def read(path: Path) -> str:
    """The text of a flow file. Raises SourceError: E000 unreadable, E005 not UTF-8."""
    try:
        data = path.read_bytes()
    except OSError as err:
        span = Span(str(path), 1, 1, 1, 1)
        raise SourceError(Diagnostic("E000", f"cannot read file: {err.strerror or err}", span)) from None
    return decode(data, str(path))


def check_text(text: str, path: str = "<string>") -> Diagnostic | None:
    """E005 at the first lone surrogate of already decoded text, else None."""
    found = _SURROGATE.search(text)
    if found is None:
        return None
    i = found.start()
    offset = len(text[:i].encode("utf-8"))
    line = text.count("\n", 0, i) + 1
    col = i - (text.rfind("\n", 0, i) + 1) + 1
    message = f"not UTF-8 at byte {offset}: lone surrogate U+{ord(text[i]):04X}"
    return Diagnostic("E005", message, Span(path, line, col, line, col + 1), hint=_HINT)


def _bad_byte(data: bytes, offset: int, path: str) -> Diagnostic:
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    col = len(data[line_start:offset].decode("utf-8", "replace")) + 1
    message = f"not UTF-8 at byte {offset} (0x{data[offset]:02x})"
    return Diagnostic("E005", message, Span(path, line, col, line, col + 1), hint=_HINT)
