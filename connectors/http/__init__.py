"""HTTP transport: `http.listen` / `http.reply` (server side) and `http.request` (client side)."""

from connectors.http import listen, reply, request
from flowengine.registry import Registry


def register(registry: Registry) -> None:
    """Entry point `flowengine.kinds: http`."""
    for spec in (listen.SPEC, reply.SPEC, request.SPEC):
        registry.register(spec)
