"""Enterprise Integration Patterns as node kinds: split, aggregate, enrich, wiretap,
recipients, resequence, delay, loop and saga (see docs/patterns.md).

The stateful ones (aggregate, resequence, saga) keep their state in the engine's
store, so a restart resumes them; those that run other nodes (enrich, wiretap,
loop, saga) name them in their options (`KindSpec.calls`).
"""

from flowengine.kinds.patterns import aggregate, delay, enrich, loop, recipients, resequence, saga, split, wiretap
from flowengine.registry import Registry

SPECS = (
    split.SPEC,
    aggregate.SPEC,
    enrich.SPEC,
    wiretap.SPEC,
    recipients.SPEC,
    resequence.SPEC,
    delay.SPEC,
    loop.SPEC,
    saga.SPEC,
)


def register(registry: Registry) -> None:
    """Entry point `flowengine.kinds: patterns`."""
    for spec in SPECS:
        registry.register(spec)
