"""The examples in docs/formats/*.md are what the code does."""

from __future__ import annotations

import json
import re

from flowengine.formats import hl7, xmljson, xmlsafe
from tests.formats.corpus import REPO


def block(page: str, lang: str) -> str:
    text = (REPO / "docs/formats" / page).read_text()
    match = re.search(rf"```{lang}\n(.*?)\n```", text, re.S)
    assert match, f"no ```{lang} block in {page}"
    return match.group(1)


def test_xml_page_example() -> None:
    expected = json.loads(block("xml.md", "json"))
    assert xmljson.to_json(xmlsafe.parse(block("xml.md", "xml"))) == expected
    assert xmljson.to_json(xmljson.from_json(expected)) == expected


def test_hl7_page_json_example() -> None:
    msg = hl7.parse(block("hl7.md", "hl7").encode())
    assert hl7.to_json(msg) == json.loads(block("hl7.md", "json"))
