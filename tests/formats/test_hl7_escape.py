"""flowengine.formats.hl7.escape: every escape sequence the standard defines, both ways."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowengine.formats.hl7 import escape
from flowengine.formats.hl7.separators import Separators
from tests.formats.corpus import read

SEPS = Separators()


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f", "a|b^c&d~e\\f"),
        ("line1\\.br\\line2", "line1\nline2"),
        ("\\X0D\\\\X0A\\", "\r\n"),
        ("caf\\XC3A9\\", "café"),
        ("\\H\\bold\\N\\", "\\H\\bold\\N\\"),
        ("C:\\temp", "C:\\temp"),
        ("\\Zcustom\\", "\\Zcustom\\"),
        ("\\XZZ\\", "\\XZZ\\"),
        ("plain", "plain"),
    ],
)
def test_decode(raw: str, text: str) -> None:
    assert escape.decode(raw, SEPS) == text


def test_decode_uses_the_message_charset_for_hex() -> None:
    assert escape.decode("\\XE9\\", SEPS, "iso8859-1") == "é"


def test_truncation_character_decodes_but_is_not_escaped() -> None:
    seps = Separators("|", "^~\\&#")
    assert escape.decode("a\\P\\", seps) == "a#"
    assert escape.encode("LAB ID# 1", seps) == "LAB ID# 1"


def test_encode_uses_the_message_delimiters() -> None:
    assert escape.encode("a*b#c\\d", Separators("*", "#~\\&")) == "a\\F\\b\\S\\c\\E\\d"


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=60))
def test_decode_inverts_encode(text: str) -> None:
    assert escape.decode(escape.encode(text, SEPS), SEPS) == text


def test_hapi_uuencoded_payload_round_trips() -> None:
    escaped = read("edge/hapi_uuencoded_escaped_payload.txt").decode()
    plain = read("edge/hapi_uuencoded_unescaped_payload.txt").decode()
    decoded = escape.decode(escaped, SEPS)
    assert decoded.replace("\r\n", "\n") == plain  # the repository stores the plain file with LF
    assert escape.encode(decoded, SEPS) == escaped
