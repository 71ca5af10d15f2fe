"""Examples in the documentation run: every ```flow block compiles, the tutorial's answers hold."""

from __future__ import annotations

import re

import pytest

from flowengine.compiler import compile_text
from tests.conftest import REPO, compile_ok

BLOCK = re.compile(r"```flow\n(.*?)```", re.S)
BLOCKS = [(p.name, m.group(1)) for p in sorted((REPO / "docs").rglob("*.md")) for m in BLOCK.finditer(p.read_text())]


@pytest.mark.parametrize(("page", "text"), BLOCKS, ids=[f"{p}-{i}" for i, (p, _) in enumerate(BLOCKS)])
def test_flow_blocks_in_docs_compile(page, text):
    result = compile_text(text, page, env={}, base_dir=REPO / "flows")
    assert result.ok, "\n".join(d.render(text) for d in result.diagnostics)


def test_tutorial_has_the_hello_flow_verbatim():
    tutorial = (REPO / "docs/tutorial.md").read_text()
    hello = (REPO / "flows/hello.flow").read_text()
    assert hello[hello.index("flow hello") :] in tutorial


async def test_tutorial_quote_flow_answers_as_documented(engine, http_server):
    tutorial = (REPO / "docs/tutorial.md").read_text()
    quote = next(b for b in BLOCK.findall(tutorial) if b.startswith("flow quote"))
    await engine.deploy(compile_ok(quote))
    resp = await http_server.post("/quote", content=b'{"items": [{"price": 60}, {"price": 45.5}]}')
    assert resp.text == '{"items":2,"total":105.5,"discount":0.1}'
    bad = await http_server.post("/quote", content=b"not json")
    assert bad.status_code == 400


def test_tutorial_lint_error_is_what_lint_prints():
    tutorial = (REPO / "docs/tutorial.md").read_text()
    quote = next(b for b in BLOCK.findall(tutorial) if b.startswith("flow quote"))
    broken = quote.replace("json.map {", "json.mapp {", 1)
    (d,) = compile_text(broken, "flows/quote.flow", env={}).diagnostics
    shown = "\n".join("    " + line for line in d.render(broken).splitlines())  # a Markdown code block
    assert shown in tutorial
