"""Tests that read data outside the repo skip without it (a fresh clone), and fail without it in CI.

Run in a child pytest, pointed at a corpus that is not there, as a clone without ../shared is.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import REPO

CORPUS_TESTS = "tests/formats/test_hl7_corpus.py"  # params of one and of two values, and read()


def pytest_without_corpus(tmp_path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "FLOWENGINE_REQUIRE_SHARED"}
    environ |= {"FLOWENGINE_HL7_CORPUS": str(tmp_path / "absent"), **env}
    return subprocess.run(
        [sys.executable, "-m", "pytest", CORPUS_TESTS, "-q", "-rs", "-p", "no:cacheprovider"],
        cwd=REPO, env=environ, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_without_the_corpus_its_tests_skip_and_say_why(tmp_path):
    proc = pytest_without_corpus(tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "error" not in proc.stdout.lower()
    skipped = re.findall(r"^SKIPPED \[\d+\] tests/formats/test_hl7_corpus\.py:\d+: (.*)$", proc.stdout, re.M)
    assert skipped and set(skipped) == {f"HL7 corpus not found at {tmp_path / 'absent'} (set FLOWENGINE_HL7_CORPUS)"}


def test_without_the_corpus_ci_fails(tmp_path):
    proc = pytest_without_corpus(tmp_path, FLOWENGINE_REQUIRE_SHARED="1")
    assert proc.returncode != 0
    assert "HL7 corpus not found at" in proc.stdout and "(FLOWENGINE_REQUIRE_SHARED is set)" in proc.stdout
