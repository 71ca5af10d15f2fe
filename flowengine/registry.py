"""The registry of node kinds, fed by package entry points.

Built-in kinds and third-party connectors arrive the same way: a distribution
declares an entry point in the group `flowengine.kinds` whose object is a
function `register(registry)`. Registration is an explicit call, never an
import side effect, so an empty `Registry()` is a clean slate for tests.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from functools import cache
from importlib.metadata import entry_points

from flowengine.spec import KindSpec

ENTRY_POINT_GROUP = "flowengine.kinds"


class Registry:
    def __init__(self) -> None:
        self._kinds: dict[str, KindSpec] = {}

    def register(self, spec: KindSpec) -> None:
        if spec.name in self._kinds:
            raise ValueError(f"node kind {spec.name!r} is already registered")
        self._kinds[spec.name] = spec

    def get(self, name: str) -> KindSpec | None:
        return self._kinds.get(name)

    def suggest(self, name: str) -> str | None:
        """The registered kind closest to a misspelt one, for "did you mean"."""
        close = difflib.get_close_matches(name, self._kinds, n=1, cutoff=0.6)
        return close[0] if close else None

    def walk(self) -> Iterator[KindSpec]:
        """Every kind, sorted by name (for docs and listings)."""
        for name in sorted(self._kinds):
            yield self._kinds[name]

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def __len__(self) -> int:
        return len(self._kinds)


def load_entry_points(registry: Registry) -> Registry:
    """Call every installed `flowengine.kinds` entry point on `registry`."""
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        ep.load()(registry)
    return registry


@cache
def default_registry() -> Registry:
    """The process-wide registry of everything installed."""
    return load_entry_points(Registry())
