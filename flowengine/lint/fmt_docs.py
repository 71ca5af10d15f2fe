"""Put every ```flow example of Markdown pages in `flowengine fmt`'s layout.

The docs promise that a flow written as they write it passes `fmt --check`
(tests/test_docs.py formats each example and compares). When an example is
added or the layout changes, refresh the pages with

    .venv/bin/python -m flowengine.lint.fmt_docs docs/

An example that does not parse is left as written (and fails the docs' compile test).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from dsl.formatter import FormatError, format_text

FLOW_BLOCK = re.compile(r"```flow\n(.*?)```", re.S)


def format_blocks(page: str, path: str = "<page>") -> str:
    """`page` with each ```flow block's text formatted."""

    def one(match: re.Match[str]) -> str:
        try:
            return "```flow\n" + format_text(match.group(1), path) + "```"
        except FormatError:
            return match.group(0)

    return FLOW_BLOCK.sub(one, page)


def main(argv: list[str]) -> None:
    for root in map(Path, argv or ["docs"]):
        for page in sorted(root.rglob("*.md")) if root.is_dir() else [root]:
            text = page.read_text(encoding="utf-8")
            formatted = format_blocks(text, str(page))
            if formatted != text:
                page.write_text(formatted, encoding="utf-8")
                sys.stdout.write(f"reformatted the flow examples of {page}\n")


if __name__ == "__main__":
    main(sys.argv[1:])
