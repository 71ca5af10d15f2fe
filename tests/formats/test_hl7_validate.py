"""flowengine.formats.hl7.validate: header fields and required segments, every problem listed."""

from __future__ import annotations

from flowengine.formats import hl7


def test_lists_every_problem_with_location_and_code() -> None:
    msg = hl7.parse("MSH|^~\\&|A|B|C|D|1||ADT^|||\rPID|1\r")
    assert [(p.location, p.code) for p in hl7.validate(msg)] == [
        ("MSH-10", 101),
        ("MSH-11", 101),
        ("MSH-12", 101),
        ("MSH-9.2", 101),
    ]


def test_required_segments_per_type_and_flow_overrides() -> None:
    msg = hl7.parse("MSH|^~\\&|A|B|C|D|1||ORU^R01|9|P|2.5\rPID|1\rOBR|1\r")
    assert hl7.validate(msg) == []
    problems = hl7.validate(msg, {"ORU^R01": ["PID", "OBR", "OBX"]})
    assert [p.to_json() for p in problems] == [
        {"location": "OBX", "message": "ORU^R01 requires a OBX segment; none found", "hl7_error_code": 100}
    ]


def test_batches_are_checked_message_by_message() -> None:
    one = "MSH|^~\\&|A|B|C|D|1||ADT^A04|{n}|P|2.5\rEVN|A04\rPID|1\r{pv1}"
    msg = hl7.parse("BHS|^~\\&\r" + one.format(n=1, pv1="PV1|1\r") + one.format(n=2, pv1="") + "BTS|2\r")
    assert [(p.location, p.message) for p in hl7.validate(msg)] == [
        ("PV1", "message 2: ADT^A04 requires a PV1 segment; none found")
    ]
