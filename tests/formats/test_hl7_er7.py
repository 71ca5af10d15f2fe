"""flowengine.formats.hl7.er7: delimiters from the header, line endings, batches, charsets, errors."""

from __future__ import annotations

import pytest

from flowengine.formats import FormatError, hl7

ORU = (
    "MSH|^~\\&|LAB|HOSP|EHR|HOSP|20240101120000||ORU^R01^ORU_R01|CTRL1|P|2.5.1\r"
    "PID|1||123^^^MRN~456^^^SSN||DOE^JOHN^Q||19700101|M\r"
    "OBR|1||R1|CBC^Blood count\r"
    "OBX|1|NM|HGB^Hemoglobin||13.5|g/dL|12-16|N\r"
    "OBX|2|NM|WBC^White cells||22.1|10*3/uL|4-11|HH\r"
    "ZPD|custom|data||\r"
)


def test_parses_segments_fields_and_keeps_trailing_empty_fields() -> None:
    msg = hl7.parse(ORU.encode())
    assert [s.id for s in msg.segments] == ["MSH", "PID", "OBR", "OBX", "OBX", "ZPD"]
    assert msg.first("ZPD").fields == ("custom", "data", "", "")
    assert msg.first("MSH").fields[:3] == ("|", "^~\\&", "LAB")
    assert (msg.message_type, msg.control_id, msg.version) == ("ORU^R01", "CTRL1", "2.5.1")
    assert msg.to_er7() == ORU


@pytest.mark.parametrize("terminator", ["\n", "\r\n", "\r"])
def test_accepts_any_segment_terminator_and_writes_cr(terminator: str) -> None:
    text = ORU.replace("\r", terminator)
    assert hl7.parse(text.encode()).to_er7() == ORU


def test_tolerates_a_bom_blank_lines_and_a_missing_final_terminator() -> None:
    data = b"\xef\xbb\xbf" + ORU.replace("\rPID", "\r\r\nPID").rstrip("\r").encode()
    assert hl7.parse(data).to_er7() == ORU


def test_uses_the_delimiters_the_message_declares() -> None:
    text = "MSH*#@!%*A*B****ADT#A01*1*P*2.4\rPID*1**X@Y#Q%R**DOE#JO!F!HN\r"
    msg = hl7.parse(text)
    assert msg.separators == hl7.Separators("*", "#@!%")
    assert msg["PID-3[2].1"] == "Y"
    assert msg["PID-3[2].2.2"] == "R"
    assert msg["PID-5.2"] == "JO*HN"
    assert msg.to_er7() == text


def test_three_encoding_characters_mean_no_subcomponents() -> None:
    msg = hl7.parse("MSH|^~}|A|B|||1||BAR^P01|9|P|2.1\rPID|||1&2^x\r")
    assert msg.separators.subcomponent == ""
    assert msg["PID-3.1"] == "1&2"


def test_batches_keep_headers_and_trailers_and_split_into_messages() -> None:
    one = "MSH|^~\\&|A|B|C|D|1||ADT^A04|{n}|P|2.5\rEVN|A04|1\rPID|1||{n}\rPV1|1|O\r"
    text = "FHS|^~\\&\rBHS|^~\\&\r" + one.format(n=1) + one.format(n=2) + "BTS|2\rFTS|1\r"
    msg = hl7.parse(text)
    assert [m.control_id for m in msg.messages()] == ["1", "2"]
    assert msg.to_er7() == text


MIXED = (
    "FHS|^~\\&\rBHS|^~\\&\r"
    "MSH|^~\\&|A||||||ADT^A01|1|P|2.5\rPID|1||a^b~c\r"
    "MSH*#@!%*A******ADT#A01*2*P*2.5\rPID*1**d#e@f\r"
    "MSH|^~\\&|A||||||ADT^A01|3|P|2.5\rPID|1||g\x01\rOBX|1\r"
    "MSH|^~\\&|A||||||ADT^A01|4|P|2.5\rPID|1||h^i\r"
    "BTS|4\rFTS|1\r"
)


def test_each_message_of_a_batch_is_read_with_its_own_encoding_characters() -> None:
    text = MIXED.replace("PID|1||g\x01\rOBX|1\r", "PID|1||g\r")
    msg = hl7.parse(text)
    assert [(m.control_id, m["PID-3[*].2"], m.separators.field) for m in msg.messages()] == [
        ("1", ["b", None], "|"),
        ("2", ["e", None], "*"),
        ("3", [None], "|"),
        ("4", ["i"], "|"),
    ]
    assert msg.to_er7() == text
    assert hl7.from_json(hl7.to_json(msg)).to_er7() == text


def test_a_broken_message_in_a_batch_is_refused_alone_and_the_others_kept() -> None:
    msg = hl7.parse(MIXED.encode())
    assert [m.control_id for m in msg.messages()] == ["1", "2", "4"]
    ((refused,),) = [msg.rejected]
    assert str(refused) == (
        "message 3: segment 8 (PID): control character U+0001 at column 9; control characters must be escaped"
    )
    assert refused.er7 == "MSH|^~\\&|A||||||ADT^A01|3|P|2.5\rPID|1||g\x01\rOBX|1\r"


def test_a_batch_whose_every_message_is_broken_is_refused() -> None:
    with pytest.raises(FormatError, match=r"segment 2 \(PID\): control character U\+0001"):
        hl7.parse("MSH|^~\\&|A\rPID|\x01\rMSH|^~\\&|B\rpid|2\r")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "empty message: no segments"),
        ("\r\n\r\n", "empty message: no segments"),
        ("PID|1\r", "segment 1: a message starts with MSH (or FHS/BHS for a batch), not 'PID'"),
        ("MSH", "segment 1 (MSH): header has no field separator"),
        ("MSHA^~\\&|", "segment 1 (MSH): field separator (MSH-1) 'A' is not a single punctuation character"),
        (
            "MSH|^~|",
            "segment 1 (MSH): encoding characters (MSH-2) '^~' must be 3 to 5 characters (component, "
            "repetition, escape[, subcomponent[, truncation]]), e.g. '^~\\&'",
        ),
        (
            "MSH|^~\\&|A\rpid|1\r",
            "segment 2: 'pid|1' does not start with a segment id (3 capitals or digits, "
            "the first a capital) followed by '|'; wrapped or joined lines?",
        ),
        (
            "MSH|^~\\&|A\rPID|a\x00b\r",
            "segment 2 (PID): control character U+0000 at column 6; control characters must be escaped",
        ),
        ("BHS|^~\\&\rBTS|0\r", "segment 2 (BTS): batch holds no message (no MSH)"),
        ("MSH|^~\\&|A\rBTS|1\r", "segment 2 (BTS): BTS without a matching BHS"),
        ("MSH|^~\\&|A\rFHS|^~\\&\r", "segment 2 (FHS): FHS after the first message; batches and files do not nest"),
    ],
)
def test_refuses_malformed_input_saying_what_and_where(text: str, error: str) -> None:
    with pytest.raises(FormatError) as caught:
        hl7.parse(text.encode())
    assert str(caught.value) == error


def test_decodes_with_the_charset_msh18_declares() -> None:
    text = "MSH|^~\\&|A|B|C|D|1||ADT^A08|1|P|2.3|||||FR|8859/1\rPID|1||1||Lefèvre^Zoé\r"
    msg = hl7.parse(text.encode("latin-1"))
    assert msg["PID-5.2"] == "Zoé"
    assert msg.to_bytes() == text.encode("latin-1")


def test_undeclared_non_utf8_bytes_are_refused_with_advice() -> None:
    data = "MSH|^~\\&|A\rPID|1||Zoé\r".encode("latin-1")
    with pytest.raises(FormatError, match=r"byte 0xE9 at offset 20 is not valid utf-8 \(no MSH-18, so UTF-8\)"):
        hl7.parse(data)


HEADER_WITH_CHARSET = "MSH|^~\\&|A|B|C|D|1||ADT^A08|1|P|2.3|||||FR|{}\rPID|1||1||{}\r"


@pytest.mark.parametrize("charset", ["8859", "ISO-8859-1", "latin-1", "ISO IR100", "iso  ir100", "8859/1"])
def test_charset_aliases_of_table_0211_and_python_are_known(charset: str) -> None:
    msg = hl7.parse(HEADER_WITH_CHARSET.format(charset, "Zoé").encode("latin-1"))
    assert (msg["PID-5"], msg.charset) == ("Zoé", "iso8859-1")


@pytest.mark.parametrize("charset", ["EBCDIC", "8859/99", "UNICODE UTF-16", "no such charset"])
def test_an_unknown_charset_reads_an_all_ascii_message(charset: str) -> None:
    msg = hl7.parse(HEADER_WITH_CHARSET.format(charset, "Zoe").encode())
    assert msg["PID-5"] == "Zoe"


def test_an_unknown_charset_refuses_a_byte_it_cannot_decode_saying_so() -> None:
    with pytest.raises(
        FormatError,
        match=r"MSH-18 names charset 'EBCDIC', which is not known, and byte 0xE9 at offset 62 is not ASCII, "
        r"so it cannot be decoded; declare a known charset in MSH-18",
    ):
        hl7.parse(HEADER_WITH_CHARSET.format("EBCDIC", "Zoé").encode("latin-1"))
