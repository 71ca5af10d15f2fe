"""dsl.source: flow bytes to text, and E005 where they are not UTF-8."""

from __future__ import annotations

import pytest

from dsl import parse
from dsl.source import SourceError, check_text, decode, read


def test_bom_and_crlf_are_read_as_plain_utf8():
    assert decode(b"\xef\xbb\xbfflow f {\r\n}\r\n") == "flow f {\n}\n"


def test_bytes_that_are_not_utf8_are_e005_at_the_line_and_column_of_the_byte():
    with pytest.raises(SourceError) as err:
        decode("flow f {\n  # café ".encode() + b"\xe9 x\n}\n", "a.flow")
    d = err.value.diagnostic
    assert d.headline() == "a.flow:2:10: E005 not UTF-8 at byte 19 (0xe9)"


def test_an_encoded_surrogate_is_not_utf8():
    with pytest.raises(SourceError) as err:
        decode(b"flow f {}\n# \xed\xa0\x80\n")
    assert err.value.diagnostic.headline() == "<string>:2:3: E005 not UTF-8 at byte 12 (0xed)"


def test_a_lone_surrogate_in_text_is_e005_in_parse():
    _, diagnostics = parse("flow f {\n  # \ud800\n}\n", "e.flow")
    assert [d.headline() for d in diagnostics] == ["e.flow:2:5: E005 not UTF-8 at byte 13: lone surrogate U+D800"]
    assert check_text("flow f {}") is None


def test_read_reports_a_missing_file_as_e000(tmp_path):
    with pytest.raises(SourceError) as err:
        read(tmp_path / "none.flow")
    assert err.value.diagnostic.code == "E000"
