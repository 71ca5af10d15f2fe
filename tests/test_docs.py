"""Examples in the documentation run: every ```flow block compiles and is in `flowengine fmt`'s layout,
the tutorial's answers hold."""

from __future__ import annotations

import re

import pytest

from dsl.formatter import format_text
from flowengine.compile.compiler import compile_text
from flowengine.lint.fmt_docs import FLOW_BLOCK, format_blocks
from tests.conftest import REPO, compile_ok

BLOCKS = [(p.name, m.group(1)) for p in sorted((REPO / "docs").rglob("*.md")) for m in FLOW_BLOCK.finditer(p.read_text())]


@pytest.mark.parametrize(("page", "text"), BLOCKS, ids=[f"{p}-{i}" for i, (p, _) in enumerate(BLOCKS)])
def test_flow_blocks_in_docs_compile(page, text):
    result = compile_text(text, page, env={}, base_dir=REPO / "flows")
    assert result.ok, "\n".join(d.render(text) for d in result.diagnostics)


@pytest.mark.parametrize(("page", "text"), BLOCKS, ids=[f"{p}-{i}" for i, (p, _) in enumerate(BLOCKS)])
def test_flow_blocks_in_docs_are_fmt_clean(page, text):
    """A reader who copies an example into a file passes `flowengine fmt --check`: the docs' style
    is the formatter's."""
    assert format_text(text, page) == text, "refresh with `.venv/bin/python -m flowengine.lint.fmt_docs docs/`"


def test_fmt_docs_formats_flow_blocks_and_leaves_the_rest():
    page = (
        "Text `x`.\n\n```flow\nflow x {\n  source in=memory.in()\n  in->in\n}\n```\n\n"
        "```flow\nflow broken {\n```\n\n```yaml\na:  1\n```\n"
    )
    assert format_blocks(page) == page.replace("in=memory", "in = memory").replace("in->in", "in -> in")


def test_tutorial_has_the_hello_flow_verbatim():
    tutorial = (REPO / "docs/tutorial.md").read_text()
    hello = (REPO / "flows/hello.flow").read_text()
    assert hello[hello.index("flow hello") :] in tutorial


async def test_tutorial_quote_flow_answers_as_documented(engine, http_server):
    tutorial = (REPO / "docs/tutorial.md").read_text()
    quote = next(b for b in FLOW_BLOCK.findall(tutorial) if b.startswith("flow quote"))
    await engine.deploy(compile_ok(quote))
    resp = await http_server.post("/quote", content=b'{"items": [{"price": 60}, {"price": 45.5}]}')
    assert resp.text == '{"items":2,"total":105.5,"discount":0.1}'
    bad = await http_server.post("/quote", content=b"not json")
    assert bad.status_code == 400


def test_tutorial_lint_error_is_what_lint_prints():
    tutorial = (REPO / "docs/tutorial.md").read_text()
    quote = next(b for b in FLOW_BLOCK.findall(tutorial) if b.startswith("flow quote"))
    broken = quote.replace("json.map {", "json.mapp {", 1)
    (d,) = compile_text(broken, "flows/quote.flow", env={}).diagnostics
    shown = "\n".join("    " + line for line in d.render(broken).splitlines())  # a Markdown code block
    assert shown in tutorial


def _prose(page: str) -> str:
    """A docs page with its line breaks and runs of spaces made single spaces, for phrase checks."""
    return " ".join((REPO / "docs" / page).read_text().split())


async def test_api_md_says_what_a_paused_http_endpoint_answers(engine, http_server):
    await engine.deploy(compile_ok((REPO / "flows/hello.flow").read_text()))
    await engine.flows["hello"].pause()
    resp = await http_server.post("/hello", json={"name": "Ada"})
    said = f"a paused HTTP endpoint answers {resp.status_code} with `Retry-After: {resp.headers['retry-after']}`"
    assert said in _prose("api.md")


def test_deploy_from_ci_quotes_the_diagnostics_the_server_prints():
    page = (REPO / "docs/deploy-from-ci.md").read_text()
    line = next(ln.strip() for ln in page.splitlines() if "amqp.publish(url: \"${PAYMENTS_AMQP_URL}\"" in ln)
    text = f'flow payments {{\n  source in = http.listen(path: "/payments")\n  {line}\n  in -> out\n}}\n'
    diagnostics = compile_text(text, "flows/payments.flow", env={}).diagnostics
    shown = "\n".join("    " + ln for d in diagnostics for ln in d.render(text).splitlines())
    assert shown in page


def test_tutorial_runs_its_second_flow_beside_make_run():
    """`make run` holds its port while the tutorial goes on: a second `run` needs a --port of its own."""
    make_port = re.search(r"^PORT \?= (\d+)$", (REPO / "Makefile").read_text(), re.M).group(1)  # type: ignore[union-attr]
    tutorial = (REPO / "docs/tutorial.md").read_text()
    ports = re.findall(r"flowengine run flows/quote\.flow --port (\d+)", tutorial)
    assert ports and make_port not in ports
    assert set(re.findall(r"localhost:(\d+)/quote", tutorial)) == set(ports)
