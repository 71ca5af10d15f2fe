"""The table of HTTP endpoints that deployed flows serve.

`http.listen` sources add and remove routes while the server runs, so routing
is a lookup in this table rather than FastAPI's static route list: an exact
`(method, path)` match first, then path templates such as `/orders/{id}`.

Each route has an owner (the flow's name). A new version of the same flow takes
a route over from the old one at once, which is how a redeploy swaps endpoints
without a gap; another flow asking for a taken route is a conflict.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.routing import compile_path
from starlette.types import Receive, Scope

from flowengine.endpoints.asgi import Answer

Handler = Callable[[Scope, Receive, dict[str, Any]], Awaitable[Answer]]
"""Answers one request: its ASGI scope, its `receive`, the path's parameters."""


class RouteConflict(ValueError):
    pass


class HttpRoutes:
    def __init__(self) -> None:
        self._exact: dict[tuple[str, str], Handler] = {}
        self._patterns: list[tuple[str, str, re.Pattern[str], Handler]] = []
        self._owners: dict[tuple[str, str], str] = {}

    def add(self, method: str, path: str, handler: Handler, owner: str) -> None:
        key = (method.upper(), path)
        current = self._owners.get(key)
        if current is not None and current != owner:
            raise RouteConflict(f"{key[0]} {path} is already served by flow '{current}'")
        self._drop(key)
        self._owners[key] = owner
        if "{" in path:
            regex, _, _ = compile_path(path)
            self._patterns.append((key[0], path, regex, handler))
        else:
            self._exact[key] = handler

    def remove(self, method: str, path: str, handler: Handler) -> None:
        """Remove the route if `handler` still serves it (not if a new version took it over)."""
        key = (method.upper(), path)
        if self._exact.get(key) == handler or any((m, p) == key and h == handler for m, p, _, h in self._patterns):
            self._drop(key)
            self._owners.pop(key, None)

    def _drop(self, key: tuple[str, str]) -> None:
        self._exact.pop(key, None)
        self._patterns = [r for r in self._patterns if (r[0], r[1]) != key]

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
