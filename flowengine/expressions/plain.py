"""Only data becomes text: the check, and `%` / `format` / `str.format` on data alone.

Turning an arbitrary Python object into text reveals what it is and where it lives
(`<function generate_lorem_ipsum at 0x7f...>`, `<generator object ...>`). In a sandbox that a
deployer writes and an HTTP caller may read the answer of, that is a leak. So every place an
expression or template turns a value into text (output, `~`, string filters, `%`, `format`,
`str.format`) first asks `require_plain`: strings, numbers, booleans, null, and lists and
objects of those. Anything else (functions, methods, generators, loop or namespace objects,
the message views) is refused with a reason that names no class and no address.

Formatting is also where a short format string can ask for gigabytes (`'%999999999s'`, the
same field a million times), so the size it could write is estimated first (`limits.estimate`).
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jinja2.runtime import Undefined
from jinja2.sandbox import SandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter, SecurityError
from markupsafe import Markup

from flowengine.expressions.limits import LIMITS, check_size, text_too_long

_SCALARS = frozenset({str, int, float, bool, type(None), Markup})
_NUMBER_TEXT = 330  # `'%f' % 1e308` is 316 characters
NOT_DATA = "only data (text, numbers, true/false, null, lists and objects of those) can become text"


def text_size(value: Any) -> int:
    """About how long `value` is as text (each string's length, a little for every other item).
    A SecurityError if it is not data; LimitExceeded as soon as it passes the text cap, so a
    list holding the same long string a million times costs no more than the cap to look at."""
    kind = type(value)
    if kind is str:
        return len(value)
    if kind is int or kind is float:
        return _NUMBER_TEXT if kind is float else value.bit_length() // 3 + 2
    if kind in _SCALARS and kind is not Markup:
        return 5
    size, stack = 0, [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if isinstance(item, str):
            size += len(item) + 2
        elif kind in _SCALARS or isinstance(item, Undefined):
            size += _NUMBER_TEXT if kind is int or kind is float else 5
        elif kind is list or kind is tuple:
            size += 2
            stack.extend(item)
        elif kind is dict:
            size += 2
            stack.extend(item)
            stack.extend(item.values())
        else:
            raise SecurityError(NOT_DATA)
        if size > LIMITS.max_text:
            raise text_too_long(size)
    return size


def require_plain(value: Any) -> Any:
    """`value` if it is data no longer than the text cap as text (see `text_size`)."""
    kind = type(value)
    if kind is int or kind is float or (kind is str and len(value) <= LIMITS.max_text):  # most values, at once
        return value
    text_size(value)
    return value


def _estimate(base: int, parts: int, widest: int, values: Sequence[Any]) -> None:
    """Refuse a formatting that could write more than the text cap: a format string of `base`
    characters with `parts` conversions, each at most `widest` wide or the longest value."""
    longest = 0
    for value in values:
        longest = max(longest, len(value) if type(value) is str else text_size(value))
    size = base + parts * (widest + longest)
    if size > LIMITS.max_text:
        raise text_too_long(size)


_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?[a-zA-Z%]")


@functools.lru_cache(maxsize=1024)
def _percent_shape(fmt: str) -> tuple[int, int]:
    """(conversions, widest width or precision) of a `%` format string, read once per string."""
    specs = _PERCENT_SPEC.findall(fmt)
    if any("*" in part for spec in specs for part in spec):
        raise SecurityError("'*' widths are not supported in format strings; write the width out")
    return len(specs), max((int(part) for spec in specs for part in spec if part), default=0)


def percent(fmt: Any, args: Any) -> Any:
    """`fmt % args`: the `%` operator and the `format` filter. On numbers, the remainder."""
    if not isinstance(fmt, str):
        return check_size(fmt % args)
    values: Sequence[Any] = args if type(args) is tuple else (args,)
    parts, widest = _percent_shape(fmt)
    _estimate(len(fmt), parts, widest, values)
    return check_size(fmt % args)


def format_filter(value: Any, *args: Any, **kwargs: Any) -> Any:
    """Jinja's `format` filter (`"%.2f" | format(x)`), on data only."""
    if args and kwargs:
        raise TypeError("format takes either positional or keyword arguments, not both")
    require_plain(value)
    return percent(value if isinstance(value, str) else str(value), kwargs or args)


@functools.lru_cache(maxsize=1024)
def _brace_shape(fmt: str) -> tuple[int, int]:
    """(replacement fields, widest number in their specs) of a `str.format` string."""
    fields = [spec for _, name, spec, _ in string.Formatter().parse(fmt) if name is not None]
    if any("{" in (spec or "") for spec in fields):
        raise SecurityError("nested fields in a format spec are not supported; write the width out")
    widest = max((int(n) for spec in fields for n in re.findall(r"\d+", spec or "")), default=0)
    return len(fields), widest


class _DataFormatter(SandboxedFormatter):
    """`str.format` whose fields, after any `.member` or `[key]` walk, must be data."""

    def format_field(self, value: Any, format_spec: str) -> Any:
        return check_size(super().format_field(require_plain(value), format_spec))


class _DataEscapeFormatter(_DataFormatter, SandboxedEscapeFormatter):
    """The same for a Markup string (autoescaped templates): fields are escaped."""


def str_format(env: SandboxedEnvironment, value: Any) -> Callable[..., str] | None:
    """A checked stand-in for `value` if it is a string's `format` or `format_map`, else None."""
    name = getattr(value, "__name__", None)
    owner = getattr(value, "__self__", None)
    if name not in ("format", "format_map") or not isinstance(owner, str):
        return None
    formatter = _DataEscapeFormatter(env, escape=owner.escape) if isinstance(owner, Markup) else _DataFormatter(env)

    def formatted(*args: Any, **kwargs: Any) -> str:
        if name == "format_map":
            if kwargs or len(args) != 1:
                raise TypeError("format_map() takes exactly one mapping")
            kwargs, args = require_plain(args[0]), ()
            if not isinstance(kwargs, Mapping):
                raise TypeError("format_map() takes exactly one mapping")
        parts, widest = _brace_shape(owner)
        _estimate(len(owner), parts, widest, (*args, *kwargs.values()))
        return check_size(type(owner)(formatter.vformat(owner, args, kwargs)))

    return formatted
