"""HL7 v2 as a message body: its media types, and the name its parsed tree is cached under.

The `hl7` node kinds and the MLLP connector both label bodies with these types, and both keep
the parsed message in the message's view cache under `VIEW` (the name expressions read it by),
so a message parsed by a flow's `hl7.*` nodes is not parsed again to address its ACK.
"""

ER7_TYPE = "application/hl7-v2"
"""The pipe-delimited encoding (ER7), as sent over MLLP."""

JSON_TYPE = "application/hl7-v2+json"
"""The lossless JSON form of `flowengine.formats.hl7.json_codec`."""

VIEW = "hl7"
"""The name of the parsed HL7 message in a message's view cache, and in expressions."""
