"""Enterprise Integration Patterns as node kinds: split, aggregate, enrich, wiretap,
recipients, resequence, delay, loop and saga (see docs/patterns.md).

The stateful ones (aggregate, resequence, saga) keep their state in the engine's
store, so a restart resumes them; those that run other nodes (enrich, wiretap,
loop, saga) name them in their options (`KindSpec.calls`).
"""

from flowengine.compile.registry import Registry

# each module is imported when a flow first uses its kind
KINDS = {
    name: f"flowengine.kinds.patterns.{name}:SPEC"
    for name in ("split", "aggregate", "enrich", "wiretap", "recipients", "resequence", "delay", "loop", "saga")
}


def register(registry: Registry) -> None:
    """Entry point `flowengine.kinds: patterns`."""
    for name, target in KINDS.items():
        registry.register_lazy(name, target)
