"""HL7 table 0357 (message error condition codes), and the parse error that carries one.

An ACK's ERR segment names the segment at fault and one of these codes, so a
parse error keeps both: `mllp.listen` and `hl7.ack` can then address a NAK as
precisely as `hl7.validate` does for a message that parsed.
"""

from __future__ import annotations

from flowengine.formats.errors import FormatError

SEGMENT_SEQUENCE_ERROR = 100
REQUIRED_FIELD_MISSING = 101
DATA_TYPE_ERROR = 102
APPLICATION_INTERNAL_ERROR = 207
ERROR_TEXT = {
    SEGMENT_SEQUENCE_ERROR: "Segment sequence error",
    REQUIRED_FIELD_MISSING: "Required field missing",
    DATA_TYPE_ERROR: "Data type error",
    200: "Unsupported message type",
    201: "Unsupported event code",
    203: "Unsupported version id",
    APPLICATION_INTERNAL_ERROR: "Application internal error",
}


class Hl7SyntaxError(FormatError):
    """ER7 the parser refuses, with the ERR location (`PID`, `PID-5`, "" when no segment id is
    readable) and the table 0357 code that fits."""

    def __init__(self, message: str, *, where: str, location: str = "", code: int = SEGMENT_SEQUENCE_ERROR) -> None:
        super().__init__(message, where=where)
        self.location = location
        self.code = code

    def to_json(self) -> dict[str, object]:
        """The shape of `validate.Problem.to_json`: what an error's details carry to the ACK."""
        return {"location": self.location, "message": str(self), "hl7_error_code": self.code}
