"""Turn option values of the AST into Python values, resolving `${ENV}`.

Each value is resolved twice: the real value (with the environment's secrets)
for the runtime, and a display value that keeps `${NAME}` as written, for the
graph export, the REST API and logs. Resolved secrets never leave the runtime.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dsl import ast
from dsl.diagnostics import Diagnostic


class ValueResolver:
    """Resolves values against an environment, collecting unset-variable errors."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.diagnostics: list[Diagnostic] = []

    def resolve(self, value: ast.Value) -> Any:
        if isinstance(value, ast.StringValue):
            return self._string(value)
        if isinstance(value, ast.ScalarValue):
            return value.value
        if isinstance(value, ast.ListValue):
            return [self.resolve(v) for v in value.items]
        return {o.key: self.resolve(o.value) for o in value.entries}

    def _string(self, value: ast.StringValue) -> str:
        out: list[str] = []
        for part in value.parts:
            if isinstance(part, str):
                out.append(part)
            elif part.name in self.env:
                out.append(self.env[part.name])
            elif part.default is not None:
                out.append(part.default)
            else:
                self.diagnostics.append(
                    Diagnostic(
                        "E140",
                        f"environment variable '{part.name}' is not set",
                        value.span,
                        hint=f"set {part.name}, or give a default: ${{{part.name}:-value}}",
                    )
                )
        return "".join(out)


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
