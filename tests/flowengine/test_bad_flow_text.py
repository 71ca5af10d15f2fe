"""`flowengine run` and `flowengine test` on flow text that is not UTF-8 or nests too deep: exit 1, a diagnostic."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.api.conftest import FLOWENGINE

GOOD = "flow f {\n  source a = memory.in()\n  sink b = memory.out()\n  a -> b\n}\n"
BAD = {
    "latin1": (GOOD.replace("flow f", "flow f_é").encode("latin-1"), "f.flow:1:8: E005 not UTF-8 at byte 7 (0xe9)"),
    "deep": (GOOD.replace("memory.in()", "memory.in(x: " + "[" * 3000 + ")").encode(), "f.flow:2:57: E004 nesting too deep"),
}


def _run(tmp_path: Path, *args: str) -> str:
    done = subprocess.run([FLOWENGINE, *args], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    out = done.stdout + done.stderr
    assert done.returncode == 1 and "Traceback" not in out, out
    return out


@pytest.mark.parametrize("data,expected", BAD.values(), ids=BAD.keys())
def test_run_and_test_refuse_bad_flow_text_with_a_diagnostic(tmp_path, data, expected):
    (tmp_path / "f.flow").write_bytes(data)
    (tmp_path / "f.test.yaml").write_text("cases:\n  - name: one\n    send:\n      a: {json: {}}\n    expect:\n      b: 1\n")
    assert expected in _run(tmp_path, "run", "f.flow", "--port", "0")
    assert expected in _run(tmp_path, "test", ".")


def test_a_test_file_that_is_not_utf8_is_a_located_error(tmp_path):
    (tmp_path / "f.flow").write_text(GOOD)
    (tmp_path / "f.test.yaml").write_bytes(b"cases:\n  - name: caf\xe9\n")
    assert "f.test.yaml:2:14: not UTF-8 at byte 20 (0xe9)" in _run(tmp_path, "test", ".")
