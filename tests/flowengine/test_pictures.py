"""Pictures: the layered layout, the SVG drawing, the self-contained html page, and
svg/png through Graphviz (with a one-line message when it is missing)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from lxml import etree, html
from typer.testing import CliRunner

from flowengine.cli.main import app
from flowengine.pictures import PictureError, picture
from flowengine.pictures.drawing import drawing
from flowengine.pictures.export import to_json
from flowengine.pictures.graphviz import MISSING
from flowengine.pictures.layout import layered
from tests.conftest import REPO, compile_ok
from tests.flowengine.test_export import FLOW as EXPORT_FLOW
from tests.flowengine.test_export import SECRET

# The export's flow, with a condition that needs escaping in SVG.
FLOW = EXPORT_FLOW.replace("when body.n > 10 ->", 'when body.n > 10 and body.kind == "<bulk>" ->')
SVG = "{http://www.w3.org/2000/svg}"


def graph() -> dict:
    return to_json(compile_ok(FLOW, env={"TOKEN": SECRET}))


def overlaps(a, b) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


def test_layout_puts_nodes_in_columns_by_longest_path_without_overlaps():
    nodes = ["a", "b", "c", "d", "e"]
    edges = [("a", "b"), ("b", "c"), ("a", "c"), ("c", "d"), ("a", "e")]
    layout = layered(nodes, edges, dict.fromkeys(nodes, (80.0, 40.0)), [0.0] * len(edges))
    b = layout.boxes
    assert b["a"].x < b["b"].x < b["c"].x < b["d"].x  # c after b, though a -> c is direct
    assert b["e"].x == b["b"].x
    assert not any(overlaps(b[m], b[n]) for m in nodes for n in nodes if m < n)
    long_edge = layout.routes[2]  # a -> c crosses b's column beside b, not through it
    crossing = [y for x, y in long_edge.points if b["b"].x <= x <= b["b"].x + b["b"].w]
    assert crossing and all(not b["b"].y - 4 <= y <= b["b"].y + b["b"].h + 4 for y in crossing)
    assert all(0 <= x <= layout.width and 0 <= y <= layout.height for r in layout.routes for x, y in r.points)


def test_layout_widens_a_gap_to_fit_its_labels():
    sizes = dict.fromkeys("ab", (80.0, 40.0))
    narrow = layered(["a", "b"], [("a", "b")], sizes, [0.0])
    wide = layered(["a", "b"], [("a", "b")], sizes, [300.0])
    assert wide.boxes["b"].x - wide.boxes["a"].x >= 80 + 300
    assert narrow.boxes["b"].x < wide.boxes["b"].x


def test_layout_survives_a_cycle():
    layout = layered(["a", "b"], [("a", "b"), ("b", "a")], dict.fromkeys("ab", (50.0, 30.0)), [0.0, 0.0])
    assert layout.boxes["a"].x < layout.boxes["b"].x and len(layout.routes) == 2


def test_drawing_shows_names_kinds_roles_and_conditions_as_written():
    svg = etree.fromstring(drawing(graph()))
    nodes = {g.get("data-name"): g for g in svg.iter(f"{SVG}g") if "node" in g.get("class", "").split()}
    assert set(nodes) == {"in", "size", "big", "small", "errors", "*"}
    assert nodes["size"].get("class") == "node role-branch" and nodes["in"].get("class") == "node role-source"
    assert [t.text for t in nodes["big"].iter(f"{SVG}text")] == ["big", "http.request"]
    assert (
        nodes["big"].get("data-options")
        == '{"url":"https://api.example/big","headers":{"authorization":"Bearer ${TOKEN}"}}'
    )
    labels = {
        g.get("data-to"): g.findtext(f"{SVG}text")
        for g in svg.iter(f"{SVG}g")
        if "edge-label" in g.get("class", "").split()
    }
    assert labels == {"big": 'body.n > 10 and body.kind == "<bulk>"', "small": "else", "errors": "error"}
    assert [p.get("class") for p in svg.iter(f"{SVG}path") if p.get("data-to") == "errors"] == ["edge edge-error"]


def test_live_drawing_has_a_counters_row_per_node():
    svg = etree.fromstring(drawing(graph(), live=True))
    rows = [t for t in svg.iter(f"{SVG}text") if t.get("class") == "counts"]
    assert len(rows) == 5 and [s.get("class") for s in rows[0]] == ["in", "out", "err"]


def test_long_conditions_are_shortened_on_the_edge_and_whole_in_its_tooltip():
    condition = "body.customer.address.country in ['de', 'fr', 'nl', 'it', 'es', 'pt', 'be']"
    flow = compile_ok(FLOW.replace('body.n > 10 and body.kind == "<bulk>"', condition), env={"TOKEN": "x"})
    svg = etree.fromstring(drawing(to_json(flow)))
    (label,) = [g for g in svg.iter(f"{SVG}g") if g.get("data-to") == "big"]
    assert label.findtext(f"{SVG}text").endswith("…") and label.findtext(f"{SVG}title") == condition


def test_html_page_is_self_contained_and_never_carries_a_secret():
    page = picture("html", [compile_ok(FLOW, env={"TOKEN": SECRET})]).decode()
    assert SECRET not in page and "Bearer ${TOKEN}" in html.fromstring(page).xpath("//@data-options")[2]
    doc = html.fromstring(page)
    assert doc.xpath("//link[@rel='stylesheet'] | //script[@src] | //img | //iframe") == []
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg|api\.example)", page)  # nothing fetched from anywhere
    assert doc.findtext(".//h1") == "route" and len(doc.xpath("//svg")) == 1


def test_html_page_draws_every_flow_of_a_file():
    flows = [
        compile_ok(FLOW, env={"TOKEN": "x"}),
        compile_ok(FLOW.replace("flow route", "flow other"), env={"TOKEN": "x"}),
    ]
    doc = html.fromstring(picture("html", flows).decode())
    assert [s.get("data-flow") for s in doc.xpath("//section")] == ["route", "other"]


@pytest.mark.parametrize(("fmt", "magic"), [("svg", b"<?xml"), ("png", b"\x89PNG")])
def test_graphviz_pictures(fmt, magic):
    data = picture(fmt, [compile_ok(FLOW, env={"TOKEN": SECRET})])
    assert data.startswith(magic) and SECRET.encode() not in data
    if fmt == "svg":
        assert b"body.n &gt; 10" in data


def test_graphviz_draws_one_flow_a_picture():
    flows = [
        compile_ok(FLOW, env={"TOKEN": "x"}),
        compile_ok(FLOW.replace("flow route", "flow other"), env={"TOKEN": "x"}),
    ]
    with pytest.raises(PictureError) as err:
        picture("svg", flows)
    assert str(err.value) == "a svg picture shows one flow; this file holds route, other: choose one with --flow"


def test_cli_without_graphviz_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` anywhere
    result = CliRunner().invoke(app, ["graph", str(REPO / "flows/hello.flow"), "--format", "svg"])
    assert result.exit_code == 2
    assert result.output == f"error: {MISSING}\n"
    assert "Traceback" not in result.output


@pytest.mark.parametrize("fmt", ["svg", "png", "html"])
def test_cli_writes_pictures_to_a_file(tmp_path: Path, fmt):
    out = tmp_path / f"orders.{fmt}"
    result = CliRunner().invoke(app, ["graph", str(REPO / "flows/orders.flow"), "-f", fmt, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert result.output == "" and out.stat().st_size > 1000


def test_cli_html_to_standard_output():
    result = CliRunner().invoke(app, ["graph", str(REPO / "flows/orders.flow"), "-f", "html"])
    assert result.exit_code == 0 and result.output.startswith("<!doctype html>")
    assert 'data-name="route"' in result.output and "else" in result.output
