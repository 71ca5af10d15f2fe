"""Where the third-party HL7 corpus lives (never copied into the repo) and how tests read it.

`FLOWENGINE_HL7_CORPUS` names it; by default it is `shared/hl7-corpus` beside
the repository, as in CI. Without it, corpus tests skip and say why (fail when CI requires it: tests/shared_data.py).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.shared_data import absent, missing_param

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("FLOWENGINE_HL7_CORPUS", REPO.parent / "shared" / "hl7-corpus"))
MISSING = f"HL7 corpus not found at {CORPUS} (set FLOWENGINE_HL7_CORPUS)"


def present() -> bool:
    return CORPUS.is_dir()


def missing(arity: int = 1) -> list[object]:
    """The params of a corpus test when the corpus is absent: one skipping set, `arity` values wide."""
    return [missing_param(MISSING, arity)]


def files(folder: str, pattern: str = "*") -> list[Path]:
    """The corpus files of `folder` (sorted; none when the corpus is absent)."""
    if not present():
        return []
    return sorted(p for p in (CORPUS / folder).rglob(pattern) if p.is_file() and p.suffix != ".json")


def file_params(folder: str, pattern: str = "*") -> list[object]:
    """Corpus files as pytest params (id = name below `folder`); one skipping param when absent."""
    if not present():
        return missing()
    return [pytest.param(p, id=str(p.relative_to(CORPUS / folder))) for p in files(folder, pattern)]


def read(relative: str) -> bytes:
    if not present():
        absent(MISSING)
    return (CORPUS / relative).read_bytes()


def normalised(data: bytes) -> str:
    """What a lossless parse -> serialise gives back: no BOM, blank lines dropped, every segment ended by CR."""
    text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    return "".join(line + "\r" for line in re.split(r"\r\n|\r|\n", text) if line.strip())


def text_container(data: bytes) -> list[bytes]:
    """The messages of HAPI's messages.txt: blank-line separated, with /* */ and // comment lines."""
    kept = [line for line in data.decode("utf-8").split("\n") if not line.lstrip().startswith(("/*", "*", "*/", "//"))]
    return [block.encode() for block in "\n".join(kept).split("\n\n") if block.strip()]
