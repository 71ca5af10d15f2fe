"""Entry point `flowengine.kinds: formats`: the XML and HL7 v2 kinds and their expression views.

lxml and the HL7 codec are imported when a flow first uses one of these kinds or
reads `hl7`/`xml` in an expression, not when the registry is filled.
"""

from __future__ import annotations

from flowengine.compile.registry import Registry
from flowengine.expressions.compiled import register_view

KINDS = {
    "xml.xpath": "flowengine.kinds.xml:XPATH",
    "xml.xslt": "flowengine.kinds.xml:XSLT",
    "xml.from_json": "flowengine.kinds.xml:FROM_JSON",
    "xml.to_json": "flowengine.kinds.xml:TO_JSON",
    "xml.validate": "flowengine.kinds.xml:VALIDATE",
    "hl7.to_json": "flowengine.kinds.hl7:TO_JSON",
    "hl7.from_json": "flowengine.kinds.hl7:FROM_JSON",
    "hl7.to_xml": "flowengine.kinds.hl7:TO_XML",
    "hl7.from_xml": "flowengine.kinds.hl7:FROM_XML",
    "hl7.ack": "flowengine.kinds.hl7:ACK",
    "hl7.validate": "flowengine.kinds.hl7:VALIDATE",
}


def register(registry: Registry) -> None:
    """Register the kinds, and the `hl7` and `xml` names readable in expressions."""
    for name, target in KINDS.items():
        registry.register_lazy(name, target)
    register_view("hl7", "flowengine.kinds.hl7:hl7_of")  # hl7.VIEW, not imported here: the codec loads on use
    register_view("xml", "flowengine.kinds.xml:view")
