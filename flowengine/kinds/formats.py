"""Entry point `flowengine.kinds: formats`: the XML and HL7 v2 kinds and their expression views."""

from flowengine.expressions import register_view
from flowengine.kinds import hl7, xml
from flowengine.registry import Registry


def register(registry: Registry) -> None:
    """Register the kinds, and the `hl7` and `xml` names readable in expressions."""
    for spec in (*xml.SPECS, *hl7.SPECS):
        registry.register(spec)
    register_view("hl7", hl7.hl7_of)
    register_view("xml", xml.view)
