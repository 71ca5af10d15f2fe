"""Durations in flow options: a number of seconds, or a string like "250ms", "5s", "2m", "24h", "7d"."""

from __future__ import annotations

import re

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")

SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": _PATTERN.pattern},
    ]
}
"""JSON Schema fragment accepted for any duration option."""


def seconds(value: float | int | str) -> float:
    """The duration in seconds. Values reaching here passed `SCHEMA` at compile time."""
    if isinstance(value, int | float):
        return float(value)
    m = _PATTERN.match(value)
    if m is None:
        raise ValueError(f"not a duration: {value!r} (use e.g. 250ms, 5s, 2m, 24h)")
    return float(m.group(1)) * _UNITS[m.group(2)]
