"""Graph export: a compiled flow as JSON, Graphviz DOT or Mermaid.

Options appear as written (`${SECRET}` stays a reference, secret fields show
`***`), so an export never carries a resolved secret. Edges show branch
conditions, `else`, and error routes (dashed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from flowengine.compile.graph import CompiledFlow, EdgeKind
from flowengine.compile.spec import Role

_DOT_SHAPES = {Role.SOURCE: "invhouse", Role.TRANSFORM: "box", Role.BRANCH: "diamond", Role.SINK: "house"}
_MERMAID_SHAPES = {
    Role.SOURCE: ("([", "])"),
    Role.TRANSFORM: ("[", "]"),
    Role.BRANCH: ("{", "}"),
    Role.SINK: ("[/", "/]"),
}
FLOW_ERROR_SOURCE = "*"


def _edges(flow: CompiledFlow) -> list[dict[str, Any]]:
    edges = sorted(flow.graph.edges(data=True), key=lambda e: e[2]["order"])
    out = [{"from": u, "to": v, "kind": d["kind"].value, "condition": d["condition"]} for u, v, d in edges]
    if flow.error_handler:
        out.append(
            {"from": FLOW_ERROR_SOURCE, "to": flow.error_handler, "kind": EdgeKind.ERROR.value, "condition": None}
        )
    return out


def _edge_label(edge: dict[str, Any]) -> str:
    if edge["kind"] == EdgeKind.WHEN.value:
        return str(edge["condition"])
    if edge["kind"] in (EdgeKind.ELSE.value, EdgeKind.ERROR.value, EdgeKind.CALL.value):
        return str(edge["kind"])
    return ""


def to_json(flow: CompiledFlow) -> dict[str, Any]:
    nodes = sorted(flow.infos(), key=lambda i: (i.span.line, i.span.col))
    return {
        "flow": flow.name,
        "description": flow.description,
        "file": flow.path,
        "nodes": [
            {
                "name": i.name,
                "kind": i.kind,
                "role": i.role.value,
                "options": i.display_options,
                "line": i.span.line,
                "col": i.span.col,
            }
            for i in nodes
        ],
        "edges": _edges(flow),
    }


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(flow: CompiledFlow) -> str:
    data = to_json(flow)
    lines = [f"digraph {_q(flow.name)} {{", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    if flow.description:
        lines.append(f"  label={_q(flow.description)}; labelloc=t;")
    for n in data["nodes"]:
        shape = _DOT_SHAPES[Role(n["role"])]
        lines.append(f"  {_q(n['name'])} [label={_q(n['name'] + chr(10) + n['kind'])}, shape={shape}];")
    if flow.error_handler:
        lines.append(f'  {_q(FLOW_ERROR_SOURCE)} [label="any node", shape=plaintext];')
    for e in data["edges"]:
        attrs = [f"label={_q(_edge_label(e))}"] if _edge_label(e) else []
        if e["kind"] == EdgeKind.ERROR.value:
            attrs += ["style=dashed", "color=red"]
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"  {_q(e['from'])} -> {_q(e['to'])}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _mermaid_id(name: str) -> str:
    return "any_node" if name == FLOW_ERROR_SOURCE else name


def _mermaid_text(text: str) -> str:
    return '"' + text.replace('"', "#quot;") + '"'


def to_mermaid(flow: CompiledFlow) -> str:
    data = to_json(flow)
    lines = ["flowchart LR"]
    for n in data["nodes"]:
        left, right = _MERMAID_SHAPES[Role(n["role"])]
        lines.append(f"  {n['name']}{left}{_mermaid_text(n['name'] + '<br/>' + n['kind'])}{right}")
    if flow.error_handler:
        lines.append(f"  any_node{_mermaid_text('any node')}")
    for e in data["edges"]:
        arrow = "-.->" if e["kind"] == EdgeKind.ERROR.value else "-->"
        label = _edge_label(e)
        mid = f"|{_mermaid_text(label)}|" if label else ""
        lines.append(f"  {_mermaid_id(e['from'])} {arrow}{mid} {_mermaid_id(e['to'])}")
    return "\n".join(lines) + "\n"


FORMATS: dict[str, Callable[[CompiledFlow], str]] = {
    "json": lambda f: orjson.dumps(to_json(f), option=orjson.OPT_INDENT_2).decode() + "\n",
    "dot": to_dot,
    "mermaid": to_mermaid,
}
