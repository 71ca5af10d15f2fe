"""Pure format libraries: XML (hardened parsing, a reversible JSON mapping) and HL7 v2.

Nothing here imports the engine: each module takes text or bytes and returns
trees, JSON values or text, and reports bad input with a `FormatError` whose
message says what is wrong and where. The node kinds in `flowengine.kinds`
turn those errors into `BadMessage`, so a malformed message takes the error
route instead of vanishing.
"""

from flowengine.formats.errors import FormatError

__all__ = ["FormatError"]
