"""Engine-wide services that sources and sinks share: the HTTP route table and
connector-owned singletons (such as the in-memory channel hub)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flowengine.endpoints.routes import HttpRoutes
from flowengine.observe.otel import NodeTracer, tracer_from_environment
from flowengine.runtime.store import MEMORY, Store

T = TypeVar("T")


class Services:
    """`state_path` is the engine's SQLite file (`flowengine.runtime.store`); ":memory:" keeps
    state for the life of the process only (tests, embedding)."""

    def __init__(self, state_path: str | Path = MEMORY) -> None:
        self.http = HttpRoutes()
        self.state_path = state_path
        self._singletons: dict[str, Any] = {}
        self._store: Store | None = None
        self.tracer: NodeTracer | None = tracer_from_environment()

    @property
    def store(self) -> Store:
        """The engine's store, opened on first use."""
        if self._store is None:
            self._store = Store(self.state_path)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def singleton(self, key: str, factory: Callable[[], T]) -> T:
        """One object per engine under `key`, created on first use."""
        if key not in self._singletons:
            self._singletons[key] = factory()
        obj: T = self._singletons[key]
        return obj
