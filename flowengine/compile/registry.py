"""The registry of node kinds, fed by package entry points.

Built-in kinds and third-party connectors arrive the same way: a distribution
declares an entry point in the group `flowengine.kinds` whose object is a
function `register(registry)`. Registration is an explicit call, never an
import side effect, so an empty `Registry()` is a clean slate for tests.

A kind is registered either with its `KindSpec` (`register`) or by name with
where its spec lives (`register_lazy("amqp.consume", "connectors.amqp.consume:SPEC")`):
the module is imported the first time a flow looks the kind up. A process that
runs one HTTP flow then never imports the AMQP, MQTT or HL7 code (start-up time,
docs/performance.md); the names alone serve "did you mean", and `walk` loads them all.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from functools import cache
from importlib.metadata import entry_points

from flowengine.compile.spec import KindSpec
from flowengine.core.targets import resolve

ENTRY_POINT_GROUP = "flowengine.kinds"


class Registry:
    def __init__(self) -> None:
        self._kinds: dict[str, KindSpec] = {}  # registered with their spec, or imported since
        # kind name -> "module:ATTRIBUTE" of its spec; kept once imported, so that a lookup racing
        # an import in another thread never finds the name in neither dict
        self._lazy: dict[str, str] = {}

    def register(self, spec: KindSpec) -> None:
        self._claim(spec.name)
        self._kinds[spec.name] = spec

    def register_lazy(self, name: str, target: str) -> None:
        """Declare kind `name`, whose `KindSpec` is `target` ("package.module:ATTRIBUTE"),
        imported on the first lookup of the name."""
        if ":" not in target:
            raise ValueError(f"kind {name!r}: target {target!r} is not 'module:ATTRIBUTE'")
        self._claim(name)
        self._lazy[name] = target

    def _claim(self, name: str) -> None:
        if name in self:
            raise ValueError(f"node kind {name!r} is already registered")

    def get(self, name: str) -> KindSpec | None:
        spec = self._kinds.get(name)
        if spec is None and name in self._lazy:
            spec = self._kinds[name] = self._load(name, self._lazy[name])
        return spec

    @staticmethod
    def _load(name: str, target: str) -> KindSpec:
        spec = resolve(target)
        if not isinstance(spec, KindSpec) or spec.name != name:
            raise TypeError(f"{target} is not the KindSpec of {name!r}: {spec!r}")
        return spec

    def suggest(self, name: str) -> str | None:
        """The registered kind closest to a misspelt one, for "did you mean"."""
        close = difflib.get_close_matches(name, self.names(), n=1, cutoff=0.6)
        return close[0] if close else None

    def names(self) -> list[str]:
        """Every kind's name, sorted, without importing any lazily registered kind."""
        return sorted(self._kinds.keys() | self._lazy.keys())

    def walk(self) -> Iterator[KindSpec]:
        """Every kind, sorted by name (for docs and listings); imports the lazy ones."""
        for name in self.names():
            spec = self.get(name)
            assert spec is not None
            yield spec

    def __contains__(self, name: object) -> bool:
        return name in self._kinds or name in self._lazy

    def __len__(self) -> int:
        return len(self._kinds.keys() | self._lazy.keys())


def load_entry_points(registry: Registry) -> Registry:
    """Call every installed `flowengine.kinds` entry point on `registry`."""
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        ep.load()(registry)
    return registry


@cache
def default_registry() -> Registry:
    """The process-wide registry of everything installed."""
    return load_entry_points(Registry())
