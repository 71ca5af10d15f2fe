"""flowengine.formats.hl7.path: SEG[i]-F[r].C.S addressing, decoded and raw."""

from __future__ import annotations

import pytest

from flowengine.formats import hl7
from tests.formats.test_hl7_er7 import ORU

MSG = hl7.parse(ORU.replace("DOE^JOHN^Q", "O\\S\\BRIEN^JOHN^Q"))


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("PID-5", "O^BRIEN"),  # a left-out component means the first (HAPI Terser)
        ("PID-5.2", "JOHN"),
        ("PID-3[2].1", "456"),
        ("PID-3[2].4", "SSN"),
        ("PID-3[*].1", ["123", "456"]),
        ("OBX[*]-5", ["13.5", "22.1"]),
        ("OBX[2]-8", "HH"),
        ("OBX[*]-3[*].1", [["HGB"], ["WBC"]]),
        ("MSH-1", "|"),
        ("MSH-2", "^~\\&"),
        ("MSH-9.2", "R01"),
        ("PID-2", None),  # empty and absent read the same
        ("PID-99", None),
        ("PID-3[9]", None),
        ("OBX[3]-5", None),
        ("ZZZ-1", None),
        ("ZPD[*]-3", [None]),
        ("NTE[*]-3", []),
    ],
)
def test_get(path: str, value: object) -> None:
    assert MSG.get(path) == value
    assert MSG[path] == value


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("PID-5", "O\\S\\BRIEN^JOHN^Q"),
        ("PID-3", "123^^^MRN~456^^^SSN"),
        ("PID-3[2]", "456^^^SSN"),
        ("PID-5.1", "O\\S\\BRIEN"),
        ("ZPD", "ZPD|custom|data||"),
    ],
)
def test_raw(path: str, raw: str) -> None:
    assert MSG.raw(path) == raw


def test_rows_lists_one_dict_per_segment() -> None:
    assert MSG.rows("OBX", code="3.1", value="5", flag="8") == [
        {"code": "HGB", "value": "13.5", "flag": "N"},
        {"code": "WBC", "value": "22.1", "flag": "HH"},
    ]
    assert MSG.count("OBX") == 2


def test_default_for_absent_values() -> None:
    assert MSG.get("PID-2", "n/a") == "n/a"


@pytest.mark.parametrize("bad", ["PID5", "pid-5", "PID-0", "PID-5.x", "PID-5[0]", "PID-5.1.2.3"])
def test_bad_paths_say_what_is_expected(bad: str) -> None:
    with pytest.raises(hl7.PathError, match=r"invalid HL7 path .*: expected SEG\[i\]-F\[r\]\.C\.S"):
        MSG.get(bad)
