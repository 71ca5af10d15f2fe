"""Jinja's filters, guarded: data-only text, and no filter call that grows past a cap.

Filters that turn their value into text take data only (`plain.require_plain`). Filters whose
arguments can multiply the size of their input (`center(10**9)`, `replace("a", big)`,
`join(big)`, `batch(10**9)`) have the size they would build checked before they run; every
guarded result is checked after. Filters that only read or reorder (`length`, `first`, `sort`,
`map`, ...) are Jinja's own, untouched. Also here: the two functions the sandbox puts into
compiled templates in place of `~` and of a `for` loop's iterable (`concat`, `counted`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from jinja2 import Environment, filters, pass_context, pass_environment, pass_eval_context
from jinja2.nodes import EvalContext
from jinja2.runtime import Context, markup_join, str_join
from jinja2.utils import _PassArg

from flowengine.expressions.limits import LIMITS, LimitExceeded, check_size, text_too_long, too_many_items
from flowengine.expressions.plain import format_filter, require_plain, text_size

BUDGET = "flowengine:loops"  # the render's loop budget, in the context (no expression can name it)
CONCAT = "flowengine:concat"
COUNTED = "flowengine:counted"

# Filters that write their value as text: the value must be data.
_TEXT = frozenset({
    "capitalize", "center", "e", "escape", "filesizeformat", "forceescape", "indent", "lower", "pprint",
    "replace", "safe", "string", "striptags", "title", "tojson", "trim", "truncate", "upper", "urlencode",
    "urlize", "wordcount", "wordwrap", "xmlattr",
})  # fmt: skip


def _grown(size: int) -> None:
    if size > LIMITS.max_text:
        raise text_too_long(size)


def _lines(s: Any) -> int:
    return str(s).count("\n") + 1


def _center(value: Any, width: int = 80) -> None:
    _grown(width)


def _indent(s: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> None:
    _grown(len(str(s)) + _lines(s) * (width if isinstance(width, int) else len(width)))


def replaced_size(s: str, old: Any, new: Any) -> int:
    """The longest `s.replace(old, new)` can be (the cap check of `replace`, filter and method)."""
    count = s.count(old) if isinstance(old, str) and old else len(s) + 1
    return len(s) + count * len(new) if isinstance(new, str) else len(s)


def _replace(s: Any, old: Any, new: Any, count: int | None = None) -> None:
    _grown(replaced_size(str(s), old, new))


def _wordwrap(s: Any, width: int = 79, break_long_words: bool = True, wrapstring: str | None = None,
              break_on_hyphens: bool = True) -> None:  # fmt: skip
    _grown(len(str(s)) * (1 + len(wrapstring or "\n")))


def _count_arg(value: Any, count: int, fill_with: Any = None) -> None:
    if count > LIMITS.max_items:
        raise too_many_items(count)


_BEFORE: dict[str, Callable[..., None]] = {
    "center": _center, "indent": _indent, "replace": _replace, "wordwrap": _wordwrap,
    "batch": _count_arg, "slice": _count_arg,
}  # fmt: skip


@pass_eval_context
def _join(eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: Any = None) -> str:
    """`join`, with the joined size known before it is built."""
    items = list(value)
    if attribute is None:
        _grown(len(d) * len(items) + text_size(items))
    result: str = filters.sync_do_join(eval_ctx, items, d, attribute)
    return check_size(result)


@pass_environment
def _sum(environment: Environment, iterable: Iterable[Any], attribute: Any = None, start: Any = 0) -> Any:
    """`sum`; lists (`sum(start=[])`, a flatten) are joined in place, within the item cap,
    rather than by Python's `+`, which copies the growing list for every part."""
    if not isinstance(start, list):
        return check_size(filters.sync_do_sum(environment, iterable, attribute, start))
    if attribute is not None:
        iterable = map(filters.make_attrgetter(environment, attribute), iterable)
    total = list(start)
    for part in iterable:
        if not isinstance(part, list):
            raise TypeError(f'can only concatenate list (not "{type(part).__name__}") to list')
        if len(total) + len(part) > LIMITS.max_items:
            raise too_many_items(len(total) + len(part))
        total.extend(part)
    return total


def _guard(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    skip = 0 if _PassArg.from_obj(func) is None else 1  # the environment or context Jinja passes first
    before = _BEFORE.get(name)
    text = name in _TEXT

    @functools.wraps(func)  # keeps Jinja's pass_* mark
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if text:
            require_plain(args[skip])
        if before is not None:
            before(*args[skip:], **kwargs)
        return check_size(func(*args, **kwargs))

    return guarded


def guarded_filters() -> dict[str, Callable[..., Any]]:
    """Jinja's built-in filters with the guards, plus the two the sandbox compiles in."""
    out = dict(filters.FILTERS)
    for name in (*_TEXT, *_BEFORE, "list"):
        out[name] = _guard(name, out[name])
    out.update({"join": _join, "sum": _sum, "format": format_filter, CONCAT: concat, COUNTED: counted})
    return out


@pass_eval_context
def concat(eval_ctx: EvalContext, parts: list[Any]) -> str:
    """`a ~ b ~ c`: data only, and no longer than the text cap."""
    text_size(parts)
    return check_size(markup_join(parts) if eval_ctx.autoescape else str_join(parts))


@pass_context
def counted(context: Context, iterable: Any) -> Any:
    """A `for` loop's iterable, its iterations charged to the render's loop budget: a sized
    one (list, range, object) up front at no cost per item, anything else item by item."""
    budget: list[int] = context.parent.get(BUDGET) or [LIMITS.max_loop]
    try:
        size = len(iterable)
    except TypeError:
        return _charged(iterable, budget)
    spend(budget, size)
    return iterable


def _charged(iterable: Iterable[Any], budget: list[int]) -> Iterator[Any]:
    for item in iterable:
        spend(budget, 1)
        yield item


def spend(budget: list[int], n: int) -> None:
    budget[0] -= n
    if budget[0] < 0:
        raise LimitExceeded(f"more than {LIMITS.max_loop:,} loop iterations in one message (FLOWENGINE_EXPR_MAX_LOOP)")
