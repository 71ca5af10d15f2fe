"""MLLP transport for HL7 v2: `mllp.listen` (source, answers with ACKs) and `mllp.send` (sink)."""

from flowengine.plugin import Registry


def register(registry: Registry) -> None:
    """Entry point `flowengine.kinds: mllp`. The HL7 code is imported only when a flow uses a kind."""
    registry.register_lazy("mllp.listen", "connectors.mllp.listen:SPEC")
    registry.register_lazy("mllp.send", "connectors.mllp.send:SPEC")
