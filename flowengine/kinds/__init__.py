"""The built-in node kinds of the engine (connectors live in the `connectors` package)."""

from flowengine.kinds import json_map, json_validate, log, routing, template
from flowengine.registry import Registry


def register(registry: Registry) -> None:
    """Entry point `flowengine.kinds: builtin`."""
    for spec in (
        json_map.SPEC,
        json_validate.SPEC,
        template.SPEC,
        log.SPEC,
        routing.BRANCH,
        routing.FILTER,
        routing.MULTICAST,
    ):
        registry.register(spec)
