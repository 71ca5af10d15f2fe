"""Pictures of flows: `flowengine graph --format svg|png|html`, and the drawing the live
page of `flowengine serve` uses.

- svg, png: the DOT export rendered by Graphviz's `dot` (one flow a picture);
- html: one self-contained page, every flow of the file drawn as inline SVG by
  this package's own layout, nodes coloured by role, conditions on edges,
  options on hover; it needs neither Graphviz nor a network.
"""

from __future__ import annotations

from collections.abc import Callable

from flowengine.compile.graph import CompiledFlow
from flowengine.pictures.export import to_dot, to_json
from flowengine.pictures.graphviz import PictureError, render_dot
from flowengine.pictures.page import html_page

__all__ = ["PICTURES", "PictureError", "picture"]


def _graphviz(fmt: str) -> Callable[[list[CompiledFlow]], bytes]:
    def render(flows: list[CompiledFlow]) -> bytes:
        if len(flows) > 1:
            names = ", ".join(f.name for f in flows)
            raise PictureError(f"a {fmt} picture shows one flow; this file holds {names}: choose one with --flow")
        return render_dot(to_dot(flows[0]), fmt)

    return render


PICTURES: dict[str, Callable[[list[CompiledFlow]], bytes]] = {
    "svg": _graphviz("svg"),
    "png": _graphviz("png"),
    "html": lambda flows: html_page([to_json(f) for f in flows]).encode(),
}


def picture(fmt: str, flows: list[CompiledFlow]) -> bytes:
    """The picture of `flows` in `fmt` (a key of PICTURES). Raises PictureError."""
    return PICTURES[fmt](flows)
