"""Data that lives outside the repository (../shared): skip without it, unless CI requires it.

A fresh clone has no `shared/` folder beside it, so tests that read it (the HL7 corpus) skip and
say what is missing. CI has the folder and sets `FLOWENGINE_REQUIRE_SHARED=1` (`.ci/run`): there an
absent folder fails the run instead of silently skipping the tests that read it.
"""

from __future__ import annotations

import os

import pytest

REQUIRE_ENV = "FLOWENGINE_REQUIRE_SHARED"


def required() -> bool:
    """True when absent shared data is a failure (CI), not a skip."""
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def absent(reason: str) -> None:
    """Skip the running test for `reason`, or fail it when shared data is required."""
    if required():
        pytest.fail(f"{reason} ({REQUIRE_ENV} is set)", pytrace=False)
    pytest.skip(reason)


def missing_param(reason: str, arity: int = 1) -> object:
    """The one parameter set (`arity` values wide) that stands for absent shared data.

    It skips with `reason`. When shared data is required, collection fails with it instead.
    """
    if required():
        pytest.fail(f"{reason} ({REQUIRE_ENV} is set)", pytrace=False)
    return pytest.param(*([None] * arity), marks=pytest.mark.skip(reason=reason), id="shared-data-missing")
