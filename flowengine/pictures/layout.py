"""A layered (Sugiyama-style) left-to-right layout for flow graphs, with no Graphviz.

The html page and the live page of `flowengine serve` draw flows without any
external program, so the layout is done here: nodes go into columns by their
longest path from a source, edges that skip columns get waypoints in the
columns they cross (so they never run through a node), each column is ordered
by the barycentre of its neighbours to reduce crossings, and nodes are placed
vertically near their neighbours without overlapping. Flows are small (tens of
nodes), so plain O(n^2)-ish passes are fine.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

Point = tuple[float, float]

MARGIN = 16.0
ROW_GAP = 26.0  # vertical space between two boxes of a column
MIN_COLUMN_GAP = 56.0  # horizontal space between columns, widened to fit edge labels
WAYPOINT_HEIGHT = 8.0  # the room an edge crossing a column takes in it


@dataclass
class Box:
    """A placed node: top-left corner and size."""

    x: float
    y: float
    w: float
    h: float

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass
class Route:
    """An edge's path: a polyline whose segments between columns are drawn as curves,
    and where its label goes (the middle of the first gap it crosses)."""

    points: list[Point]
    label_at: Point


@dataclass
class Layout:
    boxes: dict[str, Box]
    routes: list[Route]
    width: float
    height: float


@dataclass
class _Slot:
    """A node or an edge's waypoint in a column."""

    key: str | tuple[int, int]  # node name, or (edge index, column)
    h: float
    w: float = 0.0
    centre: float = 0.0
    preds: list[_Slot] = field(default_factory=list)
    succs: list[_Slot] = field(default_factory=list)


def layered(
    nodes: Sequence[str],
    edges: Sequence[tuple[str, str]],
    sizes: dict[str, tuple[float, float]],
    label_widths: Sequence[float],
) -> Layout:
    """Place `nodes` (in source order) of `sizes` (width, height); route `edges`, whose
    labels are `label_widths` wide (0 for none)."""
    column = _columns(nodes, edges)
    slots, chains = _slots(nodes, edges, sizes, column)
    columns = _ordered(slots, max(column.values(), default=-1) + 1)
    _place_vertically(columns)
    gaps = [MIN_COLUMN_GAP] * len(columns)
    for (u, _), width in zip(edges, label_widths, strict=True):
        gaps[column[u]] = max(gaps[column[u]], width + 24)
    lefts, widths = _column_xs(columns, gaps)
    top = min((s.centre - s.h / 2 for col in columns for s in col), default=0.0) - MARGIN
    boxes = {
        s.key: Box(lefts[i] + (widths[i] - s.w) / 2, s.centre - s.h / 2 - top, s.w, s.h)
        for i, col in enumerate(columns)
        for s in col
        if isinstance(s.key, str)
    }
    routes = [
        _route(boxes[u], boxes[v], [s.centre - top for s in chain], (column[u], column[v]), lefts, widths)
        for (u, v), chain in zip(edges, chains, strict=True)
    ]
    height = max((b.y + b.h for b in boxes.values()), default=0.0) + MARGIN
    height = max([height, *(p[1] + MARGIN for r in routes for p in r.points)])
    return Layout(boxes, routes, lefts[-1] + widths[-1] + MARGIN if columns else 2 * MARGIN, height)


def _columns(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> dict[str, int]:
    """Each node's column: the longest path to it from a node without predecessors.
    Edges closing a cycle (a flow that compiled has none) are ignored."""
    succs: dict[str, list[str]] = defaultdict(list)
    for u, v in edges:
        if u != v:
            succs[u].append(v)
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    for start in nodes:
        stack = [(start, iter(succs[start]))] if start not in state else []
        state.setdefault(start, 1)
        while stack:
            node, it = stack[-1]
            nxt = next((v for v in it if state.get(v) != 1), None)
            if nxt is None:
                state[node] = 2
                order.append(node)
                stack.pop()
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succs[nxt])))
    rank = {n: i for i, n in enumerate(reversed(order))}  # a topological order
    column = dict.fromkeys(nodes, 0)
    for u in sorted(nodes, key=rank.__getitem__):
        for v in succs[u]:
            if rank[v] > rank[u]:
                column[v] = max(column[v], column[u] + 1)
    return column


def _slots(
    nodes: Sequence[str],
    edges: Sequence[tuple[str, str]],
    sizes: dict[str, tuple[float, float]],
    column: dict[str, int],
) -> tuple[dict[int, list[_Slot]], list[list[_Slot]]]:
    """The slots of each column, linked along the edges; per edge, its waypoints."""
    by_name = {n: _Slot(n, sizes[n][1], sizes[n][0]) for n in nodes}
    slots: dict[int, list[_Slot]] = defaultdict(list)
    for n in nodes:
        slots[column[n]].append(by_name[n])
    chains: list[list[_Slot]] = []
    for i, (u, v) in enumerate(edges):
        chain = [_Slot((i, c), WAYPOINT_HEIGHT) for c in range(column[u] + 1, column[v])]
        for c, waypoint in zip(range(column[u] + 1, column[v]), chain, strict=True):
            slots[c].append(waypoint)
        path = [by_name[u], *chain, by_name[v]]
        if column[v] > column[u]:
            for a, b in pairwise(path):
                a.succs.append(b)
                b.preds.append(a)
        chains.append(chain)
    return slots, chains


def _ordered(slots: dict[int, list[_Slot]], count: int) -> list[list[_Slot]]:
    """Columns ordered top to bottom: source order first, then barycentre sweeps."""
    columns = [list(slots[c]) for c in range(count)]
    for _ in range(4):
        for i in range(1, len(columns)):
            _sort_by_neighbours(columns[i], columns[i - 1], "preds")
        for i in range(len(columns) - 2, -1, -1):
            _sort_by_neighbours(columns[i], columns[i + 1], "succs")
    return columns


def _sort_by_neighbours(col: list[_Slot], fixed: list[_Slot], side: str) -> None:
    index = {id(s): i for i, s in enumerate(fixed)}
    here = {id(s): i for i, s in enumerate(col)}

    def key(s: _Slot) -> float:
        near = [index[id(n)] for n in getattr(s, side) if id(n) in index]
        return sum(near) / len(near) if near else here[id(s)] * len(fixed) / max(1, len(col))

    col.sort(key=key)


def _place_vertically(columns: list[list[_Slot]]) -> None:
    """Stack the first column, then pull each slot towards its neighbours' centres,
    down and up a few times, never letting two slots of a column overlap."""
    for col in columns:
        _pack(col, [0.0] * len(col))
    for _ in range(3):
        for col in columns[1:]:
            _pack(col, [_mean(s.preds, s.centre) for s in col])
        for col in reversed(columns[:-1]):
            _pack(col, [_mean(s.succs, s.centre) for s in col])


def _mean(slots: list[_Slot], default: float) -> float:
    return sum(s.centre for s in slots) / len(slots) if slots else default


def _pack(col: list[_Slot], wanted: list[float]) -> None:
    """Centres as close to `wanted` as order and spacing allow: the mean of a top-down
    and a bottom-up placement (both feasible, so their mean is too)."""
    down, last = [], float("-inf")
    for s, c in zip(col, wanted, strict=True):
        top = max(c - s.h / 2, last + ROW_GAP)
        down.append(top + s.h / 2)
        last = top + s.h
    up, first = [], float("inf")
    for s, c in zip(reversed(col), reversed(wanted), strict=True):
        bottom = min(c + s.h / 2, first - ROW_GAP)
        up.append(bottom - s.h / 2)
        first = bottom - s.h
    for s, a, b in zip(col, down, reversed(up), strict=True):
        s.centre = (a + b) / 2


def _column_xs(columns: list[list[_Slot]], gaps: list[float]) -> tuple[list[float], list[float]]:
    widths = [max((s.w for s in col), default=0.0) for col in columns]
    lefts, x = [], MARGIN
    for width, gap in zip(widths, gaps, strict=True):
        lefts.append(x)
        x += width + gap
    return lefts, widths


def _route(
    a: Box, b: Box, waypoints: list[float], columns: tuple[int, int], lefts: list[float], widths: list[float]
) -> Route:
    """Out of `a`'s right side, across each gap to the next column (at the edge's waypoint
    there, or at `b`), along the column, and into `b`'s left side."""
    start, end = columns
    if end <= start:  # an edge that closes a cycle: straight back
        return Route([(a.x + a.w, a.cy), (b.x, b.cy)], ((a.x + a.w + b.x) / 2, (a.cy + b.cy) / 2))
    points: list[Point] = [(a.x + a.w, a.cy)]
    y = a.cy
    for i, y_next in enumerate([*waypoints, b.cy], start=start):
        points += [(lefts[i] + widths[i], y), (lefts[i + 1], y_next)]
        y = y_next
    points.append((b.x, b.cy))
    (x1, y1), (x2, y2) = points[1], points[2]
    return Route(points, ((x1 + x2) / 2, (y1 + y2) / 2))
