"""Turn option values of the AST into Python values, resolving `${ENV}`.

Each value is resolved twice: the real value (with the environment's secrets)
for the runtime, and a display value that keeps `${NAME}` as written, for the
graph export, the REST API and logs. Resolved secrets never leave the runtime.

The environment only holds text, so a string with `${...}` given to an option whose
schema wants an integer, a number or a boolean (`port: "${PORT}"`) is converted to
that type (`typed`); deploy-time values come from the environment for every option.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jsonschema

from dsl import ast
from dsl.diagnostics import Diagnostic


class ValueResolver:
    """Resolves values against an environment, collecting unset-variable errors."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.diagnostics: list[Diagnostic] = []

    def resolve(self, value: ast.Value, required: bool = False) -> Any:
        """The value with `${NAME}` filled in. `${NAME:-default}` takes the default when NAME is
        unset or empty; in a `required` option an empty variable is an error like an unset one."""
        if isinstance(value, ast.StringValue):
            return self._string(value, required)
        if isinstance(value, ast.ScalarValue):
            return value.value
        if isinstance(value, ast.ListValue):
            return [self.resolve(v, required) for v in value.items]
        return {o.key: self.resolve(o.value, required) for o in value.entries}

    def _string(self, value: ast.StringValue, required: bool) -> str:
        out: list[str] = []
        for part in value.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            text = self.env.get(part.name)
            if text:
                out.append(text)
            elif part.default is not None:
                out.append(part.default)
            elif text is None or required:
                how = "is not set" if text is None else "is set but empty (the option is required)"
                self.diagnostics.append(
                    Diagnostic(
                        "E140",
                        f"environment variable '{part.name}' {how}",
                        value.span,
                        hint=f"set {part.name}, or give a default: ${{{part.name}:-value}}",
                    )
                )
        return "".join(out)


class NotConvertible(ValueError):
    """A `${...}` string that is none of the types its option accepts; `wanted` names them."""

    def __init__(self, wanted: str) -> None:
        super().__init__(wanted)
        self.wanted = wanted


def _integer(text: str) -> int | None:
    return int(text) if re.fullmatch(r"[+-]?\d+", text) else None


def _number(text: str) -> int | float | None:
    if re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text) is None:
        return None
    return _integer(text) if _integer(text) is not None else float(text)


def _boolean(text: str) -> bool | None:
    return {"true": True, "false": False}.get(text.lower())


_PARSERS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "integer": ("an integer", _integer),
    "number": ("a number", _number),
    "boolean": ("true or false", _boolean),
}


def _types(schema: Mapping[str, Any]) -> Iterator[str]:
    """Every JSON type a schema names, its `anyOf`/`oneOf` branches included (durations)."""
    declared = schema.get("type", ())
    yield from [declared] if isinstance(declared, str) else declared
    for branch in (*schema.get("anyOf", ()), *schema.get("oneOf", ())):
        yield from _types(branch)


def typed(text: str, schema: Mapping[str, Any]) -> Any:
    """`text` (from the environment) as the option's schema wants it.

    Kept as text when the schema accepts it as it is (a string option, a duration like "5s");
    else the first of integer, number, boolean the schema names that parses ("8080" -> 8080,
    "30" -> 30 for a duration). Raises `NotConvertible` when the schema wants one of those
    types and none parses; a schema that wants none of them is left to report its own error.
    """
    if jsonschema.Draft202012Validator(schema).is_valid(text):
        return text
    declared = set(_types(schema))
    wanted = [name for name in _PARSERS if name in declared]
    for name in wanted:
        value = _PARSERS[name][1](text.strip())
        if value is not None:
            return value
    if wanted:
        raise NotConvertible(" or ".join(_PARSERS[name][0] for name in wanted))
    return text


def display(value: ast.Value) -> Any:
    """The value as the author wrote it: environment references stay unresolved."""
    if isinstance(value, ast.StringValue):
        return "".join(
            p if isinstance(p, str) else f"${{{p.name}}}" if p.default is None else f"${{{p.name}:-{p.default}}}"
            for p in value.parts
        )
    if isinstance(value, ast.ScalarValue):
        return value.value
    if isinstance(value, ast.ListValue):
        return [display(v) for v in value.items]
    return {o.key: display(o.value) for o in value.entries}
