"""Where the third-party HL7 corpus lives (never copied into the repo) and how tests read it.

`FLOWENGINE_HL7_CORPUS` names it; by default it is `shared/hl7-corpus` beside
the repository, as in CI. Without it, corpus tests skip and say why.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("FLOWENGINE_HL7_CORPUS", REPO.parent / "shared" / "hl7-corpus"))
MISSING = f"HL7 corpus not found at {CORPUS} (set FLOWENGINE_HL7_CORPUS)"


def files(folder: str, pattern: str = "*") -> list[object]:
    """Corpus files as pytest params (id = name); one skipping param when the corpus is absent."""
    if not CORPUS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=MISSING), id="corpus-missing")]
    found = sorted(p for p in (CORPUS / folder).rglob(pattern) if p.is_file() and p.suffix != ".json")
    return [pytest.param(p, id=str(p.relative_to(CORPUS / folder))) for p in found]


def read(relative: str) -> bytes:
    if not CORPUS.is_dir():
        pytest.skip(MISSING)
    return (CORPUS / relative).read_bytes()


def normalised(data: bytes) -> str:
    """What a lossless parse -> serialise gives back: no BOM, blank lines dropped, every segment ended by CR."""
    text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    return "".join(line + "\r" for line in re.split(r"\r\n|\r|\n", text) if line.strip())


def text_container(data: bytes) -> list[bytes]:
    """The messages of HAPI's messages.txt: blank-line separated, with /* */ and // comment lines."""
    kept = [line for line in data.decode("utf-8").split("\n") if not line.lstrip().startswith(("/*", "*", "*/", "//"))]
    return [block.encode() for block in "\n".join(kept).split("\n\n") if block.strip()]
