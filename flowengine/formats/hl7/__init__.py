"""HL7 v2: our own small, exact ER7 codec (see docs/formats/hl7.md for why not python-hl7/hl7apy).

parse(bytes)            -> Hl7Message (message, back-to-back messages, or FHS/BHS batch)
parse_header(bytes)     -> the first segment alone, to address a NAK when the rest is broken
Hl7SyntaxError          -> what parse refuses, with the ERR location and table 0357 code
msg["PID-5.1"]          -> decoded value (paths: flowengine.formats.hl7.path)
msg.to_er7()/to_bytes() -> text back, lossless
to_json / from_json     -> the JSON shape of json_codec
to_xml / from_xml       -> Mirth-style XML, and reading the standard v2.xml encoding
build_ack               -> AA / AE / AR with MSA and ERR
ER7_TYPE, JSON_TYPE     -> the media types of HL7 bodies; VIEW, the name of a message's parsed tree
validate                -> header fields and required segments, every problem listed
"""

from flowengine.formats.hl7.ack import ack_code, build_ack
from flowengine.formats.hl7.body import ER7_TYPE, JSON_TYPE, VIEW
from flowengine.formats.hl7.er7 import parse, parse_header
from flowengine.formats.hl7.errors import Hl7SyntaxError
from flowengine.formats.hl7.json_codec import from_json, to_json
from flowengine.formats.hl7.model import Hl7Message, Segment
from flowengine.formats.hl7.path import PathError
from flowengine.formats.hl7.separators import Separators
from flowengine.formats.hl7.validate import Problem, validate
from flowengine.formats.hl7.xml_codec import from_xml, to_xml

__all__ = [
    "ER7_TYPE",
    "JSON_TYPE",
    "VIEW",
    "Hl7Message",
    "Hl7SyntaxError",
    "PathError",
    "Problem",
    "Segment",
    "Separators",
    "ack_code",
    "build_ack",
    "from_json",
    "from_xml",
    "parse",
    "parse_header",
    "to_json",
    "to_xml",
    "validate",
]
