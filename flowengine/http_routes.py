"""The table of HTTP endpoints that deployed flows serve.

`http.listen` sources add and remove routes while the server runs, so routing
is a lookup in this table rather than FastAPI's static route list: an exact
`(method, path)` match first, then path templates such as `/orders/{id}`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import compile_path

Handler = Callable[[Request, dict[str, Any]], Awaitable[Response]]


class RouteConflict(ValueError):
    pass


class HttpRoutes:
    def __init__(self) -> None:
        self._exact: dict[tuple[str, str], Handler] = {}
        self._patterns: list[tuple[str, str, re.Pattern[str], Handler]] = []

    def add(self, method: str, path: str, handler: Handler) -> None:
        method = method.upper()
        if (method, path) in self._exact or any(m == method and p == path for m, p, _, _ in self._patterns):
            raise RouteConflict(f"{method} {path} is already served by another flow")
        if "{" in path:
            regex, _, _ = compile_path(path)
            self._patterns.append((method, path, regex, handler))
        else:
            self._exact[(method, path)] = handler

    def remove(self, method: str, path: str) -> None:
        method = method.upper()
        self._exact.pop((method, path), None)
        self._patterns = [r for r in self._patterns if (r[0], r[1]) != (method, path)]

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, Any]] | None:
        handler = self._exact.get((method, path))
        if handler is not None:
            return handler, {}
        for m, _, regex, h in self._patterns:
            if m == method:
                found = regex.match(path)
                if found:
                    return h, found.groupdict()
        return None

    def allowed_methods(self, path: str) -> list[str]:
        methods = {m for (m, p) in self._exact if p == path}
        methods |= {m for m, _, regex, _ in self._patterns if regex.match(path)}
        return sorted(methods)
