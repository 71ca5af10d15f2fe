"""The third-party corpus (../shared/hl7-corpus): every valid and edge message parses and
re-serialises exactly, converts through JSON and XML and back, and every invalid input
is refused with a clear error (never a traceback, never a hang)."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowengine.formats import FormatError, hl7
from tests.formats.corpus import file_params, files, missing, normalised, present, read, text_container

# Not messages: escape payloads (tested in test_hl7_escape), a text file of commented
# messages and a file with human-readable [SOM]/[EOM] markers (each unwrapped below).
CONTAINERS = {
    "hapi_uuencoded_escaped_payload.txt",
    "hapi_uuencoded_unescaped_payload.txt",
    "hapi_util_messages_multi.txt",
    "mirth_simplesender_SOM_EOM_markers.txt",
}
# Upstream fragments that parse exactly but lack a segment their type requires.
FRAGMENTS = {"mirth_whitespace_in_fields.hl7": "ORC", "pyhl7_rep_sample_hl7.hl7": "OBR", "pyhl7_sample_msh.hl7": "EVN"}
# A valid-folder file two of whose thirteen messages have an empty MSH-10.
MISSING_CONTROL_ID = {"hapi_example_oml_o21.hl7": 2}


def messages_of(path: Path) -> list[bytes]:
    data = path.read_bytes()
    if path.name == "hapi_util_messages_multi.txt":
        return text_container(data)
    if path.name == "mirth_simplesender_SOM_EOM_markers.txt":
        return [data.split(b"[SOM]", 1)[1].split(b"[EOM]", 1)[0]]
    return [data]


def corpus_messages() -> list[object]:
    if not present():
        return missing(arity=2)
    params: list[object] = []
    for path in files("valid") + files("edge"):
        if path.name in CONTAINERS - {"hapi_util_messages_multi.txt", "mirth_simplesender_SOM_EOM_markers.txt"}:
            continue
        for i, data in enumerate(messages_of(path)):
            params.append(pytest.param(path.name, data, id=f"{path.parent.name}/{path.name}#{i}"))
    return params


@pytest.mark.parametrize(("name", "data"), corpus_messages())
def test_valid_and_edge_messages_round_trip_exactly(name: str, data: bytes) -> None:
    msg = hl7.parse(data)
    assert msg.to_er7() == normalised(data)
    assert hl7.from_json(hl7.to_json(msg, decode=False), decode=False).to_er7() == msg.to_er7()
    assert hl7.from_json(hl7.to_json(msg)).to_er7() == msg.to_er7()
    assert hl7.from_xml(hl7.to_xml(msg)) == msg.to_er7()
    assert hl7.parse(msg.to_bytes()).to_er7() == msg.to_er7()


@pytest.mark.parametrize(("name", "data"), corpus_messages())
def test_valid_and_edge_messages_validate_except_known_fragments(name: str, data: bytes) -> None:
    problems = hl7.validate(hl7.parse(data))
    if name in FRAGMENTS:
        assert [p.location for p in problems] == [FRAGMENTS[name]]
    elif name in MISSING_CONTROL_ID:
        assert [p.location for p in problems] == ["MSH-10"] * MISSING_CONTROL_ID[name]
    else:
        assert problems == []


def rejection(data: bytes) -> str:
    """The clear error for bad input: the parse error, else the validation problems."""
    try:
        msg = hl7.parse(data)
    except FormatError as err:
        return str(err)
    problems = hl7.validate(msg)
    assert problems, "an invalid input was accepted"
    return "; ".join(f"{p.location}: {p.message}" for p in problems)


@pytest.mark.parametrize("path", file_params("invalid"))
def test_invalid_inputs_are_refused_with_a_clear_error(path: Path) -> None:
    reason = rejection(path.read_bytes())
    assert reason and "Traceback" not in reason
    assert len(reason) < 600


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("empty_file.hl7", "empty message: no segments"),
        ("hl7apy_pid_instead_of_msh.hl7", "segment 1: a message starts with MSH (or FHS/BHS for a batch), not 'PID'"),
        (
            "hl7apy_encoding_chars_duplicate.hl7",
            "segment 1 (MSH): MSH-1 '|' and MSH-2 '^&&^' repeat a character; each delimiter must be distinct",
        ),
        (
            "mdm_hard_wrapped_lines.hl7",
            "segment 2: '4563-8EBD-F54B880B36...' does not start with a segment id (3 capitals or digits, the first "
            "a capital) followed by '|'; wrapped or joined lines?",
        ),
        ("pyhl7_sample_bad_batch.hl7", "segment 7 (BTS): batch holds no message (no MSH)"),
        ("pyhl7_sample_bad_batch1.hl7", "segment 4 (BHS): BHS inside an open BHS; batches and files do not nest"),
        ("pyhl7_sample_bad_file2.hl7", "segment 5 (FHS): FHS inside an open BHS; batches and files do not nest"),
        ("pyhl7_sample_bad_file3.hl7", "segment 7 (FTS): file holds no message (no MSH)"),
        ("hl7apy_missing_msh9.hl7", "MSH-9.1: message type (MSH-9.1) is empty"),
        (
            "siu_bad_phone.hl7",
            "SCH: SIU^S12 requires a SCH segment; none found; RGS: SIU^S12 requires a RGS segment; none found",
        ),
        (
            "adt_segments_joined_by_spaces.hl7",
            "EVN: ADT^A01 requires a EVN segment; none found; "
            "PID: ADT^A01 requires a PID segment; none found; "
            "PV1: ADT^A01 requires a PV1 segment; none found",
        ),
    ],
)
def test_invalid_messages_name_the_problem(name: str, expected: str) -> None:
    assert rejection(read(f"invalid/{name}")) == expected


def test_fuzz_inputs_with_raw_bytes_fail_on_decoding_not_later() -> None:
    reason = rejection(read("invalid/nhapi_fuzz/PipeParser/HL7Exception/id_000087.bin"))
    assert reason == (
        "byte 0xFD at offset 5 is not valid utf-8 (no MSH-18, so UTF-8); declare the real charset "
        "in MSH-18, e.g. '8859/1'"
    )
