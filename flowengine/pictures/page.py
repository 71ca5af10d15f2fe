"""HTML pages around flow drawings: the self-contained file of `flowengine graph
--format html`, and the frame the live page of `flowengine serve` shares with it.

The exported page inlines its stylesheet and script and draws with inline SVG
laid out here, so it opens from disk, from a CI artifact or an e-mail with no
network, no CDN and no Graphviz.
"""

from __future__ import annotations

from functools import cache
from html import escape
from importlib.resources import files
from typing import Any

from flowengine.pictures.drawing import drawing

ROLES = ("source", "transform", "branch", "sink", "error_route")
LEGEND = (
    '<div class="legend" aria-label="legend">'
    + "".join(f'<span class="swatch {r}">{r.replace("_", " ")}</span>' for r in ROLES)
    + "<span>hover a node for its options</span></div>"
)


@cache
def asset(name: str) -> str:
    """A file of `flowengine/pictures/assets` (the stylesheet and the hover-card script)."""
    return files("flowengine.pictures").joinpath("assets", name).read_text(encoding="utf-8")


def document(title: str, body: str, *, head: str, tail: str, attrs: str = "") -> str:
    """An HTML document: `head` goes in <head> (styles), `tail` closes <body> (scripts)."""
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n<link rel="icon" href="data:,">\n'
        f"<title>{escape(title)} · Flowengine</title>\n{head}\n</head>\n"
        f"<body{attrs}>\n{body}\n{tail}\n</body>\n</html>\n"
    )


def _section(graph: dict[str, Any], heading: bool) -> str:
    if not heading:
        title = description = ""
    else:
        title = f"<h2>{escape(graph['flow'])}</h2>"
        description = f'<p class="description">{escape(graph["description"] or "")}</p>'
    return (
        f'<section class="flow" data-flow="{escape(graph["flow"], quote=True)}">{title}{description}'
        f'<div class="canvas">{drawing(graph)}</div></section>'
    )


def html_page(graphs: list[dict[str, Any]]) -> str:
    """One self-contained page drawing every graph (each a `flowengine.pictures.export.to_json` document)."""
    one = graphs[0] if len(graphs) == 1 else None
    title = one["flow"] if one else graphs[0]["file"]
    description = f'<p class="description">{escape(one["description"])}</p>' if one and one["description"] else ""
    count = sum(len(g["nodes"]) for g in graphs)
    meta = f'<p class="meta">{escape(graphs[0]["file"])} · {len(graphs)} flow(s), {count} nodes</p>'
    header = f"<header><h1>{escape(title)}</h1>{description}{meta}</header>"
    sections = "".join(_section(g, one is None) for g in graphs)
    return document(
        title,
        f"{header}\n<main>{LEGEND}{sections}</main>",
        head=f"<style>\n{asset('flowgraph.css')}</style>",
        tail=f"<script>\n{asset('flowgraph.js')}</script>",
    )
