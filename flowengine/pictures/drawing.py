"""Draw a flow as SVG from the graph export's JSON (`flowengine.pictures.export.to_json`).

Working from the export keeps the picture, `flowengine graph --format json`
and the API's view of a flow in agreement, and means options appear as
written (`${SECRET}` unresolved, secret fields `***`). The SVG carries classes,
not colours (`assets/flowgraph.css` styles it), and each node carries its
name, kind, role, line and options as data attributes for the hover card of
`assets/flowgraph.js`. With `live=True` each node gets a row of counters
(in, out, errors) that the page of `flowengine serve` fills in.
"""

from __future__ import annotations

from html import escape
from typing import Any

import orjson

from flowengine.pictures.export import FLOW_ERROR_SOURCE
from flowengine.pictures.layout import Layout, Point, layered

NAME_SIZE = 13.0
SMALL_SIZE = 11.0
LABEL_LIMIT = 48  # characters of a condition shown on its edge; the rest is in its tooltip
COUNTS_TEMPLATE = "in 9999 · out 9999 · err 9999"  # the widest counters row the page writes
_NARROW = set("ijlftr.,:;!|'() []")
_WIDE = set("mwMW@%")
ANY_NODE = "any node"


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """A generous estimate of `text`'s width in DejaVu Sans / Verdana (the page's fonts):
    layout happens here, before any browser measures anything."""
    em = sum(0.34 if c in _NARROW else 0.92 if c in _WIDE else 0.72 if c.isupper() else 0.61 for c in text)
    return em * size * (1.1 if bold else 1.0)


def _node_size(node: dict[str, Any], live: bool) -> tuple[float, float]:
    if node["role"] == "any":
        return text_width(ANY_NODE, SMALL_SIZE) + 20, 28.0
    widths = [text_width(node["name"], NAME_SIZE, bold=True), text_width(node["kind"], SMALL_SIZE)]
    if live:
        widths.append(text_width(COUNTS_TEMPLATE, SMALL_SIZE))
    return max(96.0, max(widths) + 24), 64.0 if live else 46.0


def edge_label(edge: dict[str, Any]) -> str:
    """What an edge says: its condition, `else`, `error` or `call`; nothing for a plain edge."""
    if edge["kind"] == "when":
        return str(edge["condition"])
    return "" if edge["kind"] == "next" else str(edge["kind"])


def _short(text: str) -> str:
    return text if len(text) <= LABEL_LIMIT else text[: LABEL_LIMIT - 1] + "…"


def _attr(value: object) -> str:
    return escape(str(value), quote=True)


def drawing(graph: dict[str, Any], *, live: bool = False) -> str:
    """The flow as one `<svg>` element (no XML prolog: it is meant for an HTML page)."""
    nodes = list(graph["nodes"])
    if any(e["from"] == FLOW_ERROR_SOURCE for e in graph["edges"]):
        nodes.insert(0, {"name": FLOW_ERROR_SOURCE, "kind": "", "role": "any", "options": {}, "line": 0})
    sizes = {n["name"]: _node_size(n, live) for n in nodes}
    labels = [_short(edge_label(e)) for e in graph["edges"]]
    pairs = [(e["from"], e["to"]) for e in graph["edges"]]
    layout = layered([n["name"] for n in nodes], pairs, sizes, [text_width(t, SMALL_SIZE) for t in labels])
    marker = f"fg-arrow-{_attr(graph['flow'])}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="flowgraph" data-flow="{_attr(graph["flow"])}" '
        f'width="{layout.width:.0f}" height="{layout.height:.0f}" '
        f'viewBox="0 0 {layout.width:.0f} {layout.height:.0f}" role="img" aria-label="flow {_attr(graph["flow"])}">',
        "<defs>",
        *(
            f'<marker id="{marker}-{k}" class="arrow arrow-{k}" viewBox="0 0 10 10" refX="9" refY="5" '
            'markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker>'
            for k in ("plain", "error")
        ),
        "</defs>",
        '<g class="edges">',
        *_edges(graph["edges"], layout, marker),
        "</g>",
        '<g class="edge-labels">',
        *_labels(graph["edges"], labels, layout),
        "</g>",
        '<g class="nodes">',
        *(_node(n, layout, live) for n in nodes),
        "</g>",
        "</svg>",
    ]
    return "\n".join(parts)


def _path(points: list[Point]) -> str:
    """Straight along columns, a curve with level ends across each gap."""
    (x, y), *rest = points
    out = [f"M{x:.1f},{y:.1f}"]
    for x2, y2 in rest:
        dx = (x2 - x) / 2
        out.append(f"C{x + dx:.1f},{y:.1f} {x2 - dx:.1f},{y2:.1f} {x2:.1f},{y2:.1f}")
        x, y = x2, y2
    return " ".join(out)


def _edges(edges: list[dict[str, Any]], layout: Layout, marker: str) -> list[str]:
    out = []
    for e, route in zip(edges, layout.routes, strict=True):
        arrow = "error" if e["kind"] == "error" else "plain"
        out.append(
            f'<path class="edge edge-{_attr(e["kind"])}" data-from="{_attr(e["from"])}" data-to="{_attr(e["to"])}" '
            f'd="{_path(route.points)}" marker-end="url(#{marker}-{arrow})"/>'
        )
    return out


def _labels(edges: list[dict[str, Any]], labels: list[str], layout: Layout) -> list[str]:
    out = []
    for e, text, route in zip(edges, labels, layout.routes, strict=True):
        if not text:
            continue
        x, y = route.label_at
        w = text_width(text, SMALL_SIZE) + 10
        full = edge_label(e)
        title = f"<title>{escape(full)}</title>" if full != text else ""
        out.append(
            f'<g class="edge-label edge-{_attr(e["kind"])}" data-from="{_attr(e["from"])}" '
            f'data-to="{_attr(e["to"])}">{title}'
            f'<rect x="{x - w / 2:.1f}" y="{y - 9:.1f}" width="{w:.1f}" height="18" rx="4"/>'
            f'<text x="{x:.1f}" y="{y + 4:.1f}">{escape(text)}</text></g>'
        )
    return out


def _node(node: dict[str, Any], layout: Layout, live: bool) -> str:
    box = layout.boxes[node["name"]]
    w, h = box.w, box.h
    head = f'<g class="node role-{_attr(node["role"])}" transform="translate({box.x:.1f},{box.y:.1f})"'
    if node["role"] == "any":
        return (
            f'{head} data-name="{FLOW_ERROR_SOURCE}"><rect width="{w:.1f}" height="{h:.1f}" rx="14"/>'
            f'<text class="kind" x="{w / 2:.1f}" y="{h / 2 + 4:.1f}">{ANY_NODE}</text></g>'
        )
    options = orjson.dumps(node["options"]).decode()
    data = (
        f' data-name="{_attr(node["name"])}" data-kind="{_attr(node["kind"])}" data-role="{_attr(node["role"])}"'
        f' data-line="{node["line"]}" data-options="{_attr(options)}" tabindex="0"'
    )
    shape = _shape(node["role"], w, h)
    texts = [
        f'<text class="name" x="{w / 2:.1f}" y="20">{escape(node["name"])}</text>',
        f'<text class="kind" x="{w / 2:.1f}" y="36">{escape(node["kind"])}</text>',
    ]
    if live:
        texts.append(
            f'<text class="counts" x="{w / 2:.1f}" y="54"><tspan class="in">in –</tspan> · '
            '<tspan class="out">out –</tspan> · <tspan class="err">err –</tspan></text>'
        )
    return f"{head}{data}>{shape}{''.join(texts)}</g>"


def _shape(role: str, w: float, h: float) -> str:
    """A shape per role, so the roles differ without colour too: sources are pills,
    branches hexagons, transforms and sinks boxes (sinks with a heavier outline)."""
    if role == "branch":
        points = f"10,0 {w - 10:.1f},0 {w:.1f},{h / 2:.1f} {w - 10:.1f},{h:.1f} 10,{h:.1f} 0,{h / 2:.1f}"
        return f'<polygon class="shape" points="{points}"/>'
    radius = h / 2 if role == "source" else 5
    return f'<rect class="shape" width="{w:.1f}" height="{h:.1f}" rx="{radius:.1f}"/>'
