"""Graph rules: what makes a compiled flow unrunnable, checked on the graph itself.

Each rule reads a `CompiledFlow` and yields diagnostics; they run on every
compile (so `run` refuses what `lint` reports) and each has one code:

    E120  a node no source reaches
    E121  a node that is not a sink, nor run by another node, but has no way out (its messages would vanish)
    E122  a cycle (messages would loop forever)
    E123  a branch with no `else` (a message matching no arm would have nowhere to go)
    E124  a flow with no source
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import networkx as nx

from dsl.diagnostics import Diagnostic
from flowengine.compile.graph import CompiledFlow, EdgeKind
from flowengine.compile.spec import Role

Rule = Callable[[CompiledFlow], Iterator[Diagnostic]]
_FORWARD = (EdgeKind.NEXT, EdgeKind.WHEN, EdgeKind.ELSE)


def no_source(flow: CompiledFlow) -> Iterator[Diagnostic]:
    if len(flow.graph) and not flow.by_role(Role.SOURCE):
        yield Diagnostic(
            "E124",
            f"flow '{flow.name}' has no source",
            flow.span,
            hint='declare one, e.g. source web = http.listen(path: "/in")',
        )


def unreachable(flow: CompiledFlow) -> Iterator[Diagnostic]:
    sources = [i.name for i in flow.by_role(Role.SOURCE)]
    if not sources:
        return
    reached: set[str] = set(sources)
    for s in sources:
        reached |= nx.descendants(flow.graph, s)
    if flow.error_handler:
        reached.add(flow.error_handler)
        reached |= nx.descendants(flow.graph, flow.error_handler)
    for info in flow.infos():
        if info.name not in reached:
            yield Diagnostic(
                "E120",
                f"node '{info.name}' is not reachable from any source",
                info.span,
                hint=f"connect it, e.g. `<node> -> {info.name}`, or remove it",
            )


def dead_end(flow: CompiledFlow) -> Iterator[Diagnostic]:
    called = {v for _, v, d in flow.graph.edges(data=True) if d["kind"] is EdgeKind.CALL}
    for info in flow.infos():
        if info.role is Role.SINK or info.name in called or flow.successors(info.name, *_FORWARD):
            continue  # a called node hands its output back to its caller
        yield Diagnostic(
            "E121",
            f"{info.role.value} '{info.name}' has no way out; its messages would go nowhere",
            info.span,
            hint=f"add an edge `{info.name} -> <node>`",
        )


def cycles(flow: CompiledFlow) -> Iterator[Diagnostic]:
    forward = nx.DiGraph()
    forward.add_nodes_from(flow.graph)
    forward.add_edges_from((u, v) for u, v, d in flow.graph.edges(data=True) if d["kind"] in _FORWARD)
    for component in nx.strongly_connected_components(forward):
        if len(component) == 1 and not any(forward.has_edge(n, n) for n in component):
            continue
        members = sorted(component, key=lambda n: (flow.info(n).span.line, flow.info(n).span.col))
        first = flow.info(members[0])
        loop = " -> ".join([*members, members[0]])
        yield Diagnostic(
            "E122", f"cycle: {loop}", first.span, hint="flows are acyclic; a loop pattern bounds repetition"
        )


def branch_without_else(flow: CompiledFlow) -> Iterator[Diagnostic]:
    for info in flow.infos():
        if info.arms and not any(a.condition is None for a in info.arms):
            yield Diagnostic(
                "E123",
                f"branch '{info.name}' has no else arm; a message matching no arm would be lost",
                info.span,
                hint="add `else -> <node>` (e.g. an error or dead-letter sink)",
            )


RULES: tuple[Rule, ...] = (no_source, unreachable, dead_end, cycles, branch_without_else)


def check_graph(flow: CompiledFlow) -> list[Diagnostic]:
    return [d for rule in RULES for d in rule(flow)]
