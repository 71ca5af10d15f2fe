"""Rules on how nodes are wired: nodes nothing uses, sinks whose failures nobody handles."""

from __future__ import annotations

from collections.abc import Iterator

import networkx as nx

from dsl import ast
from flowengine.external import is_external
from flowengine.graph import CompiledFlow, EdgeKind
from flowengine.lint_rules.base import Finding, LintContext, Rule
from flowengine.nodes import AsyncNode
from flowengine.spec import Role

ANSWERING_SOURCES = frozenset({"http.listen", "mllp.listen", "memory.in"})
"""Sources whose sender waits for the verdict (HTTP status, MLLP ACK, the host's Outcome):
a failure goes back to the sender, who decides; other sources redeliver it."""


def _named(flow: ast.Flow) -> set[str]:
    """Every node name a chain, arm or error route mentions."""
    names: set[str] = set()
    for stmt in flow.statements:
        if isinstance(stmt, ast.Chain):
            names.update(n.name for n in stmt.names)
        elif isinstance(stmt, ast.ErrorRoute):
            names.add(stmt.handler.name)
            if stmt.node is not None:
                names.add(stmt.node.name)
        elif isinstance(stmt, ast.BranchDecl):
            names.update(a.target for a in stmt.arms)
    return names


def unused_nodes(ctx: LintContext) -> Iterator[Finding]:
    used = _named(ctx.flow)
    used.update(v for _, v, d in ctx.compiled.graph.edges(data=True) if d["kind"] is EdgeKind.CALL)
    for name, decl in ctx.decls.items():
        if name not in used:
            role = decl.role if isinstance(decl, ast.NodeDecl) else "branch"
            yield Finding(
                f"{role} '{name}' is declared but never used: no edge, arm or error route names it",
                decl.span,
                f"connect it (e.g. `<node> -> {name}`) or remove it",
            )


def _redelivering_sources(flow: CompiledFlow) -> list[str]:
    return [i.name for i in flow.by_role(Role.SOURCE) if i.kind not in ANSWERING_SOURCES]


def unhandled_sink_errors(ctx: LintContext) -> Iterator[Finding]:
    flow = ctx.compiled
    if flow.error_handler:
        return
    reached: set[str] = set()
    for source in _redelivering_sources(flow):
        reached |= nx.descendants(flow.graph, source)
    for info in flow.by_role(Role.SINK):
        if info.name not in reached or not is_external(info.kind) or not isinstance(info.runtime, AsyncNode):
            continue
        if flow.successors(info.name, EdgeKind.ERROR):
            continue
        yield Finding(
            f"sink '{info.name}' ({info.kind}) has no error route: when it fails, the source message is "
            "not acknowledged and the broker delivers it again (a lasting fault repeats forever)",
            info.span,
            f"route its failures, e.g. `on error {info.name} -> dead_letters`, or add a flow-wide `on error -> ...`",
        )


UNUSED = Rule(
    "E201",
    "a node no chain, arm or error route names (it would never get a message)",
    """\
flow f {
  source in = memory.in()
  sink out = memory.out()
  sink old = memory.out()
  in -> out
}
""",
    """\
flow f {
  source in = memory.in()
  sink out = memory.out()
  in -> out
}
""",
    unused_nodes,
    supersedes=("E120", "E121"),
)

UNHANDLED_SINK = Rule(
    "W205",
    "a sink that talks to the outside (http, amqp, mqtt, mllp), fed by a broker source, has no error route",
    """\
flow f {
  source events = amqp.consume(queue: "events")
  sink hook = http.request(url: "https://example.com/hook")
  events -> hook
}
""",
    """\
flow f {
  source events = amqp.consume(queue: "events")
  sink hook = http.request(url: "https://example.com/hook")
  sink failed = log(level: "error")
  events -> hook
  on error hook -> failed
}
""",
    unhandled_sink_errors,
)
