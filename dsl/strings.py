"""String literals: escape sequences and `${ENV}` references.

Quoted strings support `\\" \\\\ \\n \\r \\t \\$ \\uXXXX \\u{X..}` and the
references `${NAME}` / `${NAME:-default}`; a literal `$` before `{` is written
`\\$`. Triple-quoted strings are raw (no escapes, no references) and dedented,
for embedded templates and stylesheets.
"""

from __future__ import annotations

import re
import textwrap

from dsl.ast import EnvRef, StringPart

_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "r": "\r", "t": "\t", "$": "$", "'": "'", "0": "\0"}
_ENV_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_HEX4 = re.compile(r"[0-9a-fA-F]{4}")
_BRACED_HEX = re.compile(r"\{([0-9a-fA-F]{1,6})\}")


class StringSyntaxError(ValueError):
    """A malformed string literal; `offset` counts from the opening quote."""

    def __init__(self, message: str, offset: int, length: int = 1) -> None:
        super().__init__(message)
        self.offset = offset
        self.length = length


def parse_quoted(token: str) -> tuple[StringPart, ...]:
    """Decode a `"..."` token (quotes included) into text and env references."""
    body = token[1:-1]
    parts: list[StringPart] = []
    buf: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            consumed, text = _escape(body, i)
            buf.append(text)
            i += consumed
        elif ch == "$" and body.startswith("${", i):
            m = _ENV_RE.match(body, i)
            if m is None:
                raise StringSyntaxError(
                    "malformed environment reference; expected ${NAME} or ${NAME:-default}",
                    i + 1,
                    len(body) - i,
                )
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(EnvRef(m.group(1), m.group(2)))
            i = m.end()
        else:
            buf.append(ch)
            i += 1
    if buf or not parts:
        parts.append("".join(buf))
    return tuple(parts)


def _escape(body: str, i: int) -> tuple[int, str]:
    nxt = body[i + 1] if i + 1 < len(body) else ""
    if nxt in _SIMPLE_ESCAPES:
        return 2, _SIMPLE_ESCAPES[nxt]
    if nxt == "u":
        m4 = _HEX4.match(body, i + 2)
        if m4:
            return 6, chr(int(m4.group(0), 16))
        mb = _BRACED_HEX.match(body, i + 2)
        if mb and int(mb.group(1), 16) <= 0x10FFFF:
            return 2 + len(mb.group(0)), chr(int(mb.group(1), 16))
        raise StringSyntaxError("bad unicode escape; expected \\uXXXX or \\u{X...}", i + 1, 2)
    raise StringSyntaxError(f"unknown escape sequence '\\{nxt}'; valid: \\\" \\\\ \\n \\r \\t \\$ \\uXXXX", i + 1, 2)


def parse_long(token: str) -> str:
    """Decode a `\"\"\"...\"\"\"` token: raw text, first newline dropped, dedented."""
    body = token[3:-3]
    if body.startswith("\n"):
        body = body[1:]
    return textwrap.dedent(body)
