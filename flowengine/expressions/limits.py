"""Per-message work caps of expressions and templates, and the checked operations that keep them.

A flow's expressions run on every message, and a message (or a careless flow) must not be
able to take the engine's memory or CPU: `'a' * body.n`, `range(body.n)`, `10 ** body.n`,
nested loops, a template writing gigabytes. Each operation that can grow a value far beyond
its inputs checks the cap *before* it allocates, so a message over a cap costs microseconds
and fails its node (`LimitExceeded`, a `NodeFailed`: the `on error` route gets the reason).

The caps come from the environment, read once when the engine starts:

    FLOWENGINE_EXPR_MAX_TEXT        characters of a string or of a template's output (1 MiB)
    FLOWENGINE_EXPR_MAX_ITEMS       items of a list or range built by an expression (100,000)
    FLOWENGINE_EXPR_MAX_INT_DIGITS  decimal digits of an integer (4,300, Python's own print limit)
    FLOWENGINE_EXPR_MAX_LOOP        loop iterations of one template render (1,000,000)
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flowengine.errors import NodeFailed

_ENV = {
    "max_text": ("FLOWENGINE_EXPR_MAX_TEXT", 1 << 20),
    "max_items": ("FLOWENGINE_EXPR_MAX_ITEMS", 100_000),
    "max_int_digits": ("FLOWENGINE_EXPR_MAX_INT_DIGITS", 4_300),
    "max_loop": ("FLOWENGINE_EXPR_MAX_LOOP", 1_000_000),
}


class LimitExceeded(NodeFailed):
    """One evaluation would exceed a work cap; the message fails its node with this reason."""


@dataclass(frozen=True)
class Limits:
    max_text: int
    max_items: int
    max_int_digits: int
    max_loop: int

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Limits:
        values: dict[str, int] = {}
        for field, (name, default) in _ENV.items():
            raw = environ.get(name, "").strip().replace("_", "")
            if not raw:
                values[field] = default
            elif raw.isdigit() and int(raw) > 0:
                values[field] = int(raw)
            else:
                raise ValueError(f"{name} must be a positive whole number, not {raw!r}")
        return cls(**values)

    @property
    def max_int_bits(self) -> int:
        return math.ceil(self.max_int_digits / math.log10(2))


LIMITS = Limits.from_environ(os.environ)
_TEXT, _ITEMS, _BITS = LIMITS.max_text, LIMITS.max_items, LIMITS.max_int_bits
_NUMBER = (int, float, bool)


def text_too_long(size: int) -> LimitExceeded:
    return LimitExceeded(f"text of {size:,} characters is over the cap of {_TEXT:,} (FLOWENGINE_EXPR_MAX_TEXT)")


def too_many_items(size: int) -> LimitExceeded:
    return LimitExceeded(f"{size:,} items are over the cap of {_ITEMS:,} (FLOWENGINE_EXPR_MAX_ITEMS)")


def too_many_digits() -> LimitExceeded:
    return LimitExceeded(f"an integer over {LIMITS.max_int_digits:,} digits (FLOWENGINE_EXPR_MAX_INT_DIGITS)")


def check_size(value: Any) -> Any:
    """`value`, if a string, list or integer it is within its cap; else LimitExceeded."""
    kind = type(value)
    if kind is str or isinstance(value, str):
        if len(value) > _TEXT:
            raise text_too_long(len(value))
    elif kind is list or kind is tuple:
        if len(value) > _ITEMS:
            raise too_many_items(len(value))
    elif kind is int and value.bit_length() > _BITS:
        raise too_many_digits()
    return value


def _repeat(seq: Any, times: int) -> Any:
    size = len(seq) * max(times, 0)
    if isinstance(seq, str):
        if size > _TEXT:
            raise text_too_long(size)
    elif size > _ITEMS:
        raise too_many_items(size)
    return seq * times


def mul(a: Any, b: Any) -> Any:
    """`a * b`: a repeated string or list within its cap, an integer within its digits."""
    ta, tb = type(a), type(b)
    if ta is float or tb is float:
        return a * b
    if ta is int and tb is int and a.bit_length() + b.bit_length() <= _BITS:
        return a * b
    if isinstance(a, int) and isinstance(b, int):
        raise too_many_digits()
    if isinstance(b, int) and isinstance(a, (str, list, tuple)):
        return _repeat(a, b)
    if isinstance(a, int) and isinstance(b, (str, list, tuple)):
        return _repeat(b, a)
    return a * b


def add(a: Any, b: Any) -> Any:
    """`a + b`, with joined strings and lists within their caps (and integers: `x = x + x`
    in a loop doubles)."""
    result = a + b if type(a) is not str and type(a) is not list else _joined(a, b)
    if type(result) is int and result.bit_length() > _BITS:
        raise too_many_digits()
    return result


def _joined(a: Any, b: Any) -> Any:
    if isinstance(b, (str, list, tuple)):
        size = len(a) + len(b)
        if size > (_TEXT if isinstance(a, str) else _ITEMS):
            raise text_too_long(size) if isinstance(a, str) else too_many_items(size)
    return a + b


def power(a: Any, b: Any) -> Any:
    """`a ** b`, refused before it runs when the integer would be over the digits cap."""
    if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1 and (abs(a).bit_length() - 1) * b > _BITS:
        raise too_many_digits()
    return check_size(a**b)


def checked_range(*args: Any) -> range:
    """`range(...)` of at most FLOWENGINE_EXPR_MAX_ITEMS numbers."""
    rng = range(*args)
    if len(rng) > _ITEMS:
        raise too_many_items(len(rng))
    return rng
