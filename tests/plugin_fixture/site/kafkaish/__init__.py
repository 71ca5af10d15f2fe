"""`kafkaish`: a pretend third-party connector, for tests/plugin_fixture/test_third_party_kind.py.

It is what a real connector distribution would be: code that imports only `flowengine.plugin`,
and a `register` function its `flowengine.kinds` entry point names. Nothing in the engine
names it; the test installs it by writing a dist-info whose entry_points.txt points here.
"""

from __future__ import annotations

from flowengine.plugin import Registry


def register(registry: Registry) -> None:
    """Entry point `flowengine.kinds: kafkaish`; the kinds load on first use, like ours."""
    for name in ("consume", "rpc", "produce"):
        registry.register_lazy(f"kafkaish.{name}", f"kafkaish.kinds:{name.upper()}")
