"""The live flow page of `flowengine serve`, and the html picture, in a real headless Chromium.

Checks what a person sees: the token prompt, node names and kinds drawn inside
their boxes, colours by role, branch conditions on the edges, options on hover,
and counters that go from 0 to 3 as messages are posted, without a reload.
A screenshot of the live page is left in the test's temporary directory (and in
$FLOWENGINE_SCREENSHOTS when set).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver import ActionChains, Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from typer.testing import CliRunner

from flowengine.cli.main import app
from tests.api.conftest import TOKENS, serve_process, write_tokens
from tests.conftest import REPO
from tests.ui.browser import chromium

SHOP = """flow shop "Orders by size: big ones queued, small ones answered" {
  source web = http.listen(path: "/shop", method: "POST", max_body_bytes: 65536)
  branch size {
      when body.n > 10 -> big
      else             -> small
  }
  sink big   = memory.out(channel: "${BIG_CHANNEL:-big-orders}")
  sink small = http.reply(status: 202)
  web -> size
}
"""
NODES = """return [...document.querySelectorAll('svg.flowgraph .node[data-options]')].map(
  g => [g.dataset.name, g.querySelector('.kind').textContent, g.dataset.role])"""
LABELS = "return [...document.querySelectorAll('svg.flowgraph .edge-label text')].map(t => t.textContent)"
COUNTS = """return Object.fromEntries([...document.querySelectorAll('svg.flowgraph .node[data-options]')].map(
  g => [g.dataset.name, g.querySelector('.counts').textContent]))"""
OVERFLOWS = """return [...document.querySelectorAll('svg.flowgraph .node, svg.flowgraph .edge-label')].flatMap(g => {
  const box = g.querySelector('.shape, rect').getBBox();
  return [...g.querySelectorAll('text')].filter(t => t.getComputedTextLength() > box.width - 6)
    .map(t => t.textContent);
})"""
FILLS = """return Object.fromEntries([...document.querySelectorAll('svg.flowgraph .node[data-options]')].map(
  g => [g.dataset.role, getComputedStyle(g.querySelector('.shape')).fill]))"""


def wait_for(driver: Chrome, script: str, wanted: Any, timeout: float = 10) -> None:
    """Until `script` returns `wanted`; on time-out, fail showing what it returned last."""
    seen: list[Any] = []
    try:
        WebDriverWait(driver, timeout, poll_frequency=0.1).until(
            lambda d: seen.append(d.execute_script(script)) or seen[-1] == wanted
        )
    except TimeoutException:
        pytest.fail(f"waited {timeout} s for {wanted!r}; the page shows {seen[-1] if seen else None!r}")


def hover_card(driver: Chrome, node: str) -> str:
    ActionChains(driver).move_to_element(driver.find_element(By.CSS_SELECTOR, f'.node[data-name="{node}"]')).perform()
    tip = driver.find_element(By.ID, "fg-tip")
    WebDriverWait(driver, 5).until(lambda _: tip.is_displayed() and tip.text.startswith(node))
    return tip.text


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory = tmp_path_factory.mktemp("serve")
    with serve_process(directory, "--tokens", str(write_tokens(directory))) as (_, url):
        deployed = httpx.post(
            f"{url}/api/flows",
            content=SHOP,
            headers={"authorization": f"Bearer {TOKENS['deployer']}", "content-type": "text/plain"},
        )
        assert deployed.status_code == 201, deployed.text
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Chrome]:
    with chromium() as driver:
        yield driver


def test_the_page_asks_for_a_token_and_refuses_a_wrong_one(server: str, browser: Chrome):
    browser.get(f"{server}/ui/flows/shop")
    form = browser.find_element(By.ID, "token-form")
    assert form.is_displayed() and browser.find_elements(By.CSS_SELECTOR, "svg.flowgraph") == []
    browser.find_element(By.ID, "token").send_keys("not-a-token\n")
    wait_for(
        browser,
        "return document.getElementById('token-note').textContent",
        "That token was not accepted; enter a viewer token.",
    )
    assert browser.execute_script("return sessionStorage.getItem('flowengine.token')") is None


def test_the_page_draws_the_flow(server: str, browser: Chrome):
    browser.find_element(By.ID, "token").send_keys(f"{TOKENS['viewer']}\n")
    wait_for(browser, "return document.querySelectorAll('svg.flowgraph .node').length", 4)
    assert browser.execute_script(NODES) == [
        ["web", "http.listen", "source"],
        ["size", "branch", "branch"],
        ["big", "memory.out", "sink"],
        ["small", "http.reply", "sink"],
    ]
    assert sorted(browser.execute_script(LABELS)) == ["body.n > 10", "else"]
    assert browser.execute_script(OVERFLOWS) == []  # every name, kind, counter row and condition fits its box
    fills = browser.execute_script(FILLS)
    assert len(set(fills.values())) == 3 and fills["source"] != fills["sink"] != fills["branch"]
    assert browser.find_element(By.ID, "description").text == "Orders by size: big ones queued, small ones answered"
    assert browser.find_element(By.CSS_SELECTOR, "#meta .status").text == "started"
    assert TOKENS["viewer"] not in browser.current_url
    assert browser.execute_script("return sessionStorage.getItem('flowengine.token')") == TOKENS["viewer"]


def test_counters_follow_the_messages_without_a_reload(server: str, browser: Chrome, tmp_path_factory):
    wait_for(browser, COUNTS, dict.fromkeys(["web", "size", "big", "small"], "in 0 · out 0 · err 0"))
    browser.execute_script("window.notReloaded = true")
    with httpx.Client(base_url=server) as client:
        for n in (1, 2, 30):
            assert client.post("/shop", json={"n": n}).status_code in (202, 204)
        assert (
            client.post("/shop", content=b"{not json", headers={"content-type": "application/json"}).status_code >= 400
        )
    wait_for(
        browser,
        COUNTS,
        {
            "web": "in 4 · out 3 · err 0",  # the bad message failed in `size`
            "size": "in 4 · out 3 · err 1",
            "big": "in 1 · out 1 · err 0",
            "small": "in 2 · out 2 · err 0",
        },
    )
    assert browser.execute_script("return window.notReloaded") is True
    assert browser.execute_script(
        "return document.querySelector('.node[data-name=size]').classList.contains('has-errors')"
    )
    shot = tmp_path_factory.mktemp("screenshots") / "live-flow-page.png"
    hover_card(browser, "big")
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if os.environ.get("FLOWENGINE_SCREENSHOTS"):
        shutil.copy(shot, Path(os.environ["FLOWENGINE_SCREENSHOTS"]) / shot.name)


def test_hovering_a_node_shows_its_options_as_written_and_its_counters(server: str, browser: Chrome):
    card = hover_card(browser, "web")
    assert "http.listen · source · line 2" in card
    assert "path\n/shop" in card and "max_body_bytes\n65536" in card and "received\n4" in card
    card = hover_card(browser, "big")
    assert "channel\n${BIG_CHANNEL:-big-orders}" in card  # as written: the environment is not resolved
    assert "last error" not in card
    card = hover_card(browser, "size")
    assert "no options" in card and "last error:" in card


def test_the_index_lists_the_deployed_flows(server: str, browser: Chrome):
    browser.get(f"{server}/ui/flows")  # same tab: the token is still in sessionStorage
    wait_for(
        browser,
        "return [...document.querySelectorAll('#flows tbody td')].slice(0, 3).map(td => td.textContent)",
        ["shop", "started", "1"],
    )
    browser.find_element(By.LINK_TEXT, "shop").click()
    wait_for(browser, "return document.querySelectorAll('svg.flowgraph .node').length", 4)
    browser.find_element(By.ID, "forget").click()
    assert browser.find_element(By.ID, "token-form").is_displayed()
    assert browser.execute_script("return sessionStorage.getItem('flowengine.token')") is None


def test_the_html_picture_works_from_disk_with_no_network(browser: Chrome, tmp_path: Path):

    page = tmp_path / "orders.html"
    result = CliRunner().invoke(app, ["graph", str(REPO / "flows/orders.flow"), "--format", "html", "-o", str(page)])
    assert result.exit_code == 0, result.output
    browser.get(page.as_uri())
    assert [n[0] for n in browser.execute_script(NODES)] == [
        "web",
        "check",
        "norm",
        "route",
        "eu",
        "na",
        "elsewhere",
        "audit",
        "accepted",
    ]
    assert sorted(browser.execute_script(LABELS)) == [
        'body.region in ["de", "fr", "nl", "it", "es"]',
        'body.region in ["us", "ca"]',
        "else",
    ]
    assert browser.execute_script(OVERFLOWS) == []
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0  # fetched nothing
    card = hover_card(browser, "accepted")
    assert "status\n201" in card and 'headers\n{ "x-order-id": "{{ body.id }}" }' in card
