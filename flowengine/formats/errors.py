"""The one exception the format libraries raise for bad input."""

from __future__ import annotations


class FormatError(ValueError):
    """Input that is not what the format allows; the message says what and where.

    `where` locates the problem in the format's own terms (`segment 3 (PID)`,
    `line 12`, a JSON pointer) so callers can report it without re-parsing.
    """

    def __init__(self, message: str, *, where: str | None = None) -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.reason = message
        self.where = where
