"""The compiled form of a flow: a networkx graph of named nodes.

One `CompiledFlow` serves the linter, the graph export, the REST API's views
and the runtime; there is no second representation. Each graph node carries a
`NodeInfo` under the key "info"; each edge carries its `EdgeKind`, the branch
condition (if any) and the source span it was written at. A `call` edge runs from a
node to one it runs itself (see `KindSpec.calls`), not a path messages flow along.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import networkx as nx

from dsl import ast
from flowengine.compile.policy import Policy
from flowengine.compile.spec import KindSpec, Role
from flowengine.core.nodes import AsyncNode, Node


class EdgeKind(StrEnum):
    NEXT = "next"
    WHEN = "when"
    ELSE = "else"
    ERROR = "error"
    CALL = "call"


@dataclass
class NodeInfo:
    name: str
    kind: str
    role: Role
    span: ast.Span
    spec: KindSpec | None
    options: dict[str, Any] = field(default_factory=dict)
    display_options: dict[str, Any] = field(default_factory=dict)
    runtime: Node | None = None
    policy: Policy | None = None
    max_bytes: int | None = None  # sources: larger bodies fail with too_large
    arms: tuple[ast.Arm, ...] = ()
    mapping: tuple[ast.MapEntry, ...] = ()

    @property
    def does_external_io(self) -> bool:
        """Whether the node talks to the world outside the engine itself: a node of an `external`
        kind that does I/O (an `AsyncNode`; not `http.reply`, which only records the answer).
        Flow tests replace it with a double; W205 asks such a sink for an error route."""
        return self.spec is not None and self.spec.external and isinstance(self.runtime, AsyncNode)


@dataclass
class CompiledFlow:
    name: str
    description: str | None
    path: str
    text: str
    span: ast.Span
    graph: nx.DiGraph = field(default_factory=nx.DiGraph)
    error_handler: str | None = None

    @property
    def revision(self) -> str:
        """Content hash of the text the flow was compiled from: same text, same revision."""
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()[:12]

    def info(self, name: str) -> NodeInfo:
        info: NodeInfo = self.graph.nodes[name]["info"]
        return info

    def infos(self) -> list[NodeInfo]:
        return [d["info"] for _, d in self.graph.nodes(data=True)]

    def by_role(self, role: Role) -> list[NodeInfo]:
        return [i for i in self.infos() if i.role is role]

    def successors(self, name: str, *kinds: EdgeKind) -> list[str]:
        """Targets of `name`'s edges of the given kinds, in the order they were written."""
        edges = [(d["order"], v) for _, v, d in self.graph.out_edges(name, data=True) if d["kind"] in kinds]
        return [v for _, v in sorted(edges)]
