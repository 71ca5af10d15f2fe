"""HTTP transport: `http.listen` / `http.reply` (server side) and `http.request` (client side)."""

from flowengine.plugin import Registry


def register(registry: Registry) -> None:
    """Entry point `flowengine.kinds: http`. httpx is imported only when a flow uses `http.request`."""
    registry.register_lazy("http.listen", "connectors.http.listen:SPEC")
    registry.register_lazy("http.reply", "connectors.http.reply:SPEC")
    registry.register_lazy("http.request", "connectors.http.request:SPEC")
