"""The built-in node kinds of the engine (connectors live in the `connectors` package)."""

from flowengine.compile.registry import Registry

# kind name -> where its spec lives; each module is imported when a flow first uses the kind
KINDS = {
    "json.map": "flowengine.kinds.json_map:SPEC",
    "json.validate": "flowengine.kinds.json_validate:SPEC",
    "template": "flowengine.kinds.template:SPEC",
    "log": "flowengine.kinds.log:SPEC",
    "branch": "flowengine.kinds.routing:BRANCH",
    "filter": "flowengine.kinds.routing:FILTER",
    "multicast": "flowengine.kinds.routing:MULTICAST",
    "dedupe": "flowengine.kinds.dedupe:SPEC",
    "throttle": "flowengine.kinds.throttle:SPEC",
    "dead_letter": "flowengine.deadletter.kind:SPEC",
}


def register(registry: Registry) -> None:
    """Entry point `flowengine.kinds: builtin`."""
    for name, target in KINDS.items():
        registry.register_lazy(name, target)
