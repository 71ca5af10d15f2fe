"""Compare what a node passed on with what a test case expects, and say how they differ.

Each matcher key checks one aspect of a message and all must hold: `json`
(the body, exactly), `subset` (these members, recursively), `body` (the text,
exactly), `where` (flow expressions that must be true), `headers`,
`attributes` (these entries) and `content_type`. A mismatch comes back as
readable lines: a unified diff of the JSON (- expected, + actual), or the
JSON pointer of each differing member. Numbers compare by value (1 == 1.0)
but a boolean is never a number.
"""

from __future__ import annotations

import difflib
from typing import Any

import orjson

from flowengine.core.message import Message
from flowengine.errors import MessageError
from flowengine.expressions.compiled import Expression, ExpressionError

_PRETTY = orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def same(a: Any, b: Any) -> bool:
    """JSON equality: by value for numbers, strict for booleans, recursive for containers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def subset_problems(expected: Any, actual: Any, pointer: str = "") -> list[str]:
    """Where `actual` lacks or differs from the members `expected` names."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{pointer or '/'}: expected an object, got {_short(actual)}"]
        out = []
        for key, value in expected.items():
            here = f"{pointer}/{key}"
            if key not in actual:
                out.append(f"{here}: missing (expected {_short(value)})")
            else:
                out.extend(subset_problems(value, actual[key], here))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{pointer or '/'}: expected an array, got {_short(actual)}"]
        if len(expected) != len(actual):
            return [f"{pointer or '/'}: expected {len(expected)} item(s), got {len(actual)}: {_short(actual)}"]
        pairs = enumerate(zip(expected, actual, strict=True))
        return [p for i, (e, a) in pairs for p in subset_problems(e, a, f"{pointer}/{i}")]
    if not same(expected, actual):
        return [f"{pointer or '/'}: expected {_short(expected)}, got {_short(actual)}"]
    return []


def json_diff(expected: Any, actual: Any) -> list[str]:
    """A unified diff of two JSON values, pretty-printed with sorted keys."""
    exp = _pretty(expected).splitlines()
    act = _pretty(actual).splitlines()
    return list(difflib.unified_diff(exp, act, "expected", "actual", n=3, lineterm=""))


def text_diff(expected: str, actual: str) -> list[str]:
    exp = expected.splitlines(keepends=True)
    act = actual.splitlines(keepends=True)
    return [line.rstrip("\n") for line in difflib.unified_diff(exp, act, "expected", "actual", n=3)] or [
        f"expected {expected!r}, got {actual!r}"
    ]


def message_problems(spec: dict[str, Any], msg: Message) -> list[str]:
    """Every way `msg` fails the matcher `spec` (empty: it matches)."""
    out: list[str] = []
    for key, expected in spec.items():
        out.extend(_CHECKS[key](expected, msg))
    return out


def _json_of(msg: Message) -> tuple[Any, list[str]]:
    try:
        return msg.json, []
    except MessageError as err:
        return None, [f"the body is not JSON ({err.message}): {msg.body[:200]!r}"]


def _check_json(expected: Any, msg: Message) -> list[str]:
    actual, problems = _json_of(msg)
    if problems or same(expected, actual):
        return problems
    return ["body differs (- expected, + actual):", *json_diff(expected, actual)]


def _check_subset(expected: Any, msg: Message) -> list[str]:
    actual, problems = _json_of(msg)
    return problems or subset_problems(expected, actual)


def _check_body(expected: str, msg: Message) -> list[str]:
    actual = msg.body.decode("utf-8", "replace")
    return [] if actual == expected else ["body differs (- expected, + actual):", *text_diff(expected, actual)]


def _check_where(expected: str | list[str], msg: Message) -> list[str]:
    out: list[str] = []
    for source in [expected] if isinstance(expected, str) else expected:
        try:
            value = Expression(source)(msg)
        except ExpressionError as err:
            out.append(f"`{source}` does not compile: {err}")
            continue
        except MessageError as err:
            out.append(f"`{source}` failed: {err.message}")
            continue
        if not value:
            body, unreadable = _json_of(msg)
            out.append(f"`{source}` is {_short(value)} for body {_short(msg.body if unreadable else body)}")
    return out


def _check_headers(expected: dict[str, str], msg: Message) -> list[str]:
    return [p.replace("/", "header ", 1) for p in subset_problems(expected, msg.headers)]


def _check_attributes(expected: dict[str, Any], msg: Message) -> list[str]:
    return [p.replace("/", "attribute ", 1) for p in subset_problems(expected, msg.attributes)]


def _check_content_type(expected: str, msg: Message) -> list[str]:
    return [] if msg.content_type == expected else [f"content type: expected {expected!r}, got {msg.content_type!r}"]


_CHECKS = {
    "json": _check_json,
    "subset": _check_subset,
    "body": _check_body,
    "where": _check_where,
    "headers": _check_headers,
    "attributes": _check_attributes,
    "content_type": _check_content_type,
}


def _pretty(value: Any) -> str:
    try:
        return orjson.dumps(value, option=_PRETTY).decode()
    except TypeError:
        return repr(value)


def _short(value: Any, limit: int = 120) -> str:
    try:
        text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
