"""HL7 v2 <-> XML on hostile shapes: bounded work, counted not timed (issue 19)."""

from __future__ import annotations

import pytest

from flowengine.formats import FormatError, hl7, xmlsafe

HEADER = "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20240102030405||ORU^R01|CTRL-1|P|2.5\r"


def from_xml(doc: bytes) -> str:
    return hl7.from_xml(xmlsafe.parse(doc))


@pytest.mark.parametrize(
    "doc",
    [
        b"<HL7Message><PID><PID.99999999/></PID></HL7Message>",
        b"<HL7Message><PID><PID.3><PID.3.99999999>x</PID.3.99999999></PID.3></PID></HL7Message>",
        b"<PID><PID.100002/></PID>",
    ],
)
def test_a_huge_position_number_is_refused_before_filling_the_gap(doc: bytes) -> None:
    with pytest.raises(FormatError, match=r"positions empty"):
        from_xml(doc)


def test_the_gap_allowance_is_for_the_whole_document() -> None:
    seg = b"<ZZZ><ZZZ.60000/></ZZZ>"
    assert from_xml(b"<HL7Message>" + seg + b"</HL7Message>") == "ZZZ" + "|" * 60_000 + "\r"
    with pytest.raises(FormatError, match=r"line 1: <ZZZ> numbers its children up to 60000"):
        from_xml(b"<HL7Message>" + seg * 2 + b"</HL7Message>")


def test_a_position_number_too_long_for_an_int_is_a_format_error() -> None:
    with pytest.raises(FormatError, match=r"position number 111111111111\.\.\. is too large"):
        from_xml(b"<PID><PID." + b"1" * 5000 + b"/></PID>")


@pytest.mark.parametrize("size", [1_000, 10_000, 100_000])
def test_work_grows_with_the_input_not_its_square(size: int) -> None:
    # lxml elements made by to_xml and fields read back: proportional to the input at every size
    text = HEADER + "OBX|1|TX|NOTE||" + "^".join("c" for _ in range(size)) + "\r"
    tree = hl7.to_xml(hl7.parse(text))
    assert sum(1 for _ in tree.iter()) < 2 * size + 100
    assert hl7.from_xml(tree) == text


def test_rows_reads_each_segment_once() -> None:
    text = HEADER + "".join(f"OBX|{i}|NM|GLU||{i}|mg/dL\r" for i in range(1, 20_001))
    rows = hl7.parse(text).rows("OBX", n="1", value="5")
    assert len(rows) == 20_000 and rows[-1] == {"n": "20000", "value": "20000"}
