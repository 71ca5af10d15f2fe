"""MLLP transport for HL7 v2: `mllp.listen` (source, answers with ACKs) and `mllp.send` (sink)."""

from connectors.mllp import listen, send
from flowengine.registry import Registry


def register(registry: Registry) -> None:
    """Entry point `flowengine.kinds: mllp`."""
    registry.register(listen.SPEC)
    registry.register(send.SPEC)
