"""flowengine.formats.hl7.json_codec: the JSON shape, its round trip and its errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flowengine.formats import FormatError, hl7

TEXT = "MSH|^~\\&|A|B|C|D|1||ORU^R01|9|P|2.5\rPID|1||a~b^c||x&y^z|O\\S\\B||\r"


def test_shape() -> None:
    doc = hl7.to_json(hl7.parse(TEXT))
    assert doc == {
        "segments": [
            ["MSH", "|", "^~\\&", "A", "B", "C", "D", "1", "", {"1": "ORU", "2": "R01"}, "9", "P", "2.5"],
            ["PID", "1", "", ["a", {"1": "b", "2": "c"}], "", {"1": {"1": "x", "2": "y"}, "2": "z"}, "O^B", "", ""],
        ]
    }
    assert hl7.to_json(hl7.parse(TEXT), decode=False)["segments"][1][6] == "O\\S\\B"


def test_single_component_with_subcomponents_is_unambiguous() -> None:
    doc = hl7.to_json(hl7.parse("MSH|^~\\&|A\rPID|x&y|x^y\r"))
    assert doc["segments"][1][1:] == [{"1": {"1": "x", "2": "y"}}, {"1": "x", "2": "y"}]


def test_round_trip_both_ways() -> None:
    msg = hl7.parse(TEXT)
    for decode in (True, False):
        assert hl7.from_json(hl7.to_json(msg, decode=decode), decode=decode).to_er7() == TEXT


@pytest.mark.parametrize(
    ("doc", "error"),
    [
        ([], '/: expected an object {"segments": [[id, field1, ...], ...]} with at least one segment'),
        ({"segments": [["PID", "1"]]}, '/segments/0: the first segment must be a header ["MSH", "|", "^~\\\\&", ...]'),
        ({"segments": [["MSH", "|", "^~\\&"], "PID"]}, "/segments/1: expected a segment [id, field1, field2, ...]"),
        ({"segments": [["MSH", "|", "^~\\&"], ["PID", 5]]}, "/segments/1/1: expected a string, got int"),
        (
            {"segments": [["MSH", "|", "^~\\&"], ["PID", ["a"]]]},
            "/segments/1/1: a list means repetitions and needs at least two",
        ),
        (
            {"segments": [["MSH", "|", "^~\\&"], ["PID", {"1": "a", "3": "c"}]]},
            "/segments/1/1: component keys must be \"1\"..\"2\" with none missing, got ['1', '3']",
        ),
        (
            {"segments": [["MSH", "|", "^~\\&"], ["MSH", "a", "^~\\&"]]},
            "/segments/1: field separator (MSH-1) 'a' is not a single punctuation character",
        ),
    ],
)
def test_errors_point_at_the_offending_value(doc: object, error: str) -> None:
    with pytest.raises(FormatError) as caught:
        hl7.from_json(doc)
    assert str(caught.value) == error


def test_raw_values_may_not_smuggle_delimiters() -> None:
    with pytest.raises(FormatError, match="a raw value holds a delimiter"):
        hl7.from_json({"segments": [["MSH", "|", "^~\\&"], ["PID", "a^b"]]}, decode=False)


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8)
_component = _text | st.lists(_text, min_size=2, max_size=3).map(lambda s: {str(i): v for i, v in enumerate(s, 1)})
_repetition = _text | st.lists(_component, min_size=1, max_size=3).map(
    lambda c: {str(i): v for i, v in enumerate(c, 1)}
)
_field = _repetition | st.lists(_repetition, min_size=2, max_size=3)


def _canonical(rep: object) -> bool:
    """The shapes to_json writes: one plain component is a string, not {"1": "x"}."""
    return not (isinstance(rep, dict) and len(rep) == 1 and isinstance(rep["1"], str))


@given(st.lists(st.lists(_field, max_size=6), min_size=1, max_size=4))
def test_json_to_hl7_to_json_is_identity_on_canonical_json(segments: list[list[object]]) -> None:
    fields = [[f for f in seg if all(_canonical(r) for r in (f if isinstance(f, list) else [f]))] for seg in segments]
    doc = {"segments": [["MSH", "|", "^~\\&", "APP"], *(["ZXX", *f] for f in fields)]}
    assert hl7.to_json(hl7.parse(hl7.from_json(doc).to_bytes())) == doc


# Raw ER7 values built from what a decoder meets: plain text, every escape sequence (hex of any byte,
# NUL and CR included), sequences with no plain-text meaning, and lone escape characters.
_PLAIN = st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="|^~\\&"), max_size=4)
_SEQUENCE = st.one_of(
    st.sampled_from(["\\F\\", "\\S\\", "\\T\\", "\\R\\", "\\E\\", "\\.br\\", "\\H\\", "\\N\\", "\\.sp\\", "\\"]),
    st.binary(min_size=1, max_size=3).map(lambda b: f"\\X{b.hex().upper()}\\"),
)
_RAW = st.lists(st.one_of(_PLAIN, _SEQUENCE), max_size=6).map("".join)


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.lists(_RAW, min_size=1, max_size=3))
def test_every_decoded_value_is_written_back_as_er7_that_parses(raws: list[str]) -> None:
    decoded = hl7.to_json(hl7.parse("MSH|^~\\&|A\rOBX|" + "|".join(raws) + "\r"))
    written = hl7.from_json(decoded).to_bytes()
    assert hl7.to_json(hl7.parse(written)) == decoded


def test_a_decoded_nul_is_written_back_escaped() -> None:
    decoded = hl7.to_json(hl7.parse("MSH|^~\\&|A\rOBX|a\\X00\\b\r"))
    assert decoded["segments"][1][1] == "a\x00b"
    assert hl7.from_json(decoded).to_er7() == "MSH|^~\\&|A\rOBX|a\\X00\\b\r"
