"""Entry point `flowengine.kinds: formats`: the XML and HL7 v2 kinds and their expression views.

lxml and the HL7 codec are imported when a flow first uses one of these kinds or
reads `hl7`/`xml` in an expression, not when the registry is filled.
"""

from __future__ import annotations

from typing import Any

from flowengine.expressions import register_view
from flowengine.message import Message
from flowengine.registry import Registry

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


def _hl7_view(msg: Message) -> Any:
    from flowengine.kinds.hl7 import hl7_of

    return hl7_of(msg)


def _xml_view(msg: Message) -> Any:
    from flowengine.kinds.xml import view

    return view(msg)


def register(registry: Registry) -> None:
    """Register the kinds, and the `hl7` and `xml` names readable in expressions."""
    for name, target in KINDS.items():
        registry.register_lazy(name, target)
    register_view("hl7", _hl7_view)
    register_view("xml", _xml_view)
