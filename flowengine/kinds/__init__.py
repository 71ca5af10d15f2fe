"""The built-in node kinds of the engine (connectors live in the `connectors` package)."""

from flowengine.deadletter import kind as dead_letter
from flowengine.kinds import dedupe, json_map, json_validate, log, routing, template, throttle
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
        dedupe.SPEC,
        throttle.SPEC,
        dead_letter.SPEC,
    ):
        registry.register(spec)
