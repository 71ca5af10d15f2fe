"""Engine-wide services that sources and sinks share: the HTTP route table and
connector-owned singletons (such as the in-memory channel hub)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flowengine.http_routes import HttpRoutes

T = TypeVar("T")


class Services:
    def __init__(self) -> None:
        self.http = HttpRoutes()
        self._singletons: dict[str, Any] = {}

    def singleton(self, key: str, factory: Callable[[], T]) -> T:
        """One object per engine under `key`, created on first use."""
        if key not in self._singletons:
            self._singletons[key] = factory()
        obj: T = self._singletons[key]
        return obj
