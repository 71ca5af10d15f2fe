"""Rules on how nodes are wired: nodes nothing uses, sinks whose failures nobody handles."""

from __future__ import annotations

from collections.abc import Iterator

import networkx as nx

from dsl import ast
from flowengine.compile.graph import CompiledFlow, EdgeKind
from flowengine.compile.spec import Role
from flowengine.lint.rules.base import Finding, LintContext, Rule
from flowengine.lint.rules.conditions import never_taken

_FORWARD = (EdgeKind.NEXT, EdgeKind.WHEN, EdgeKind.ELSE, EdgeKind.CALL)


def _dead_arms(ctx: LintContext) -> set[tuple[str, str]]:
    """(branch, target) edges every arm of which is never taken."""
    dead: set[tuple[str, str]] = set()
    for decl in ctx.decls.values():
        if isinstance(decl, ast.BranchDecl):
            never = never_taken(decl)
            for target in {a.target for a in never}:
                if all(a in never for a in decl.arms if a.target == target):
                    dead.add((decl.name, target))
    return dead


def _flow_handler_used(flow: CompiledFlow) -> bool:
    """Whether some node on a normal path has no error route of its own (so the flow's takes over)."""
    reached = _forward_reach(flow, [i.name for i in flow.by_role(Role.SOURCE)])
    return any(n != flow.error_handler and not flow.successors(n, EdgeKind.ERROR) for n in reached)


def unused_nodes(ctx: LintContext) -> Iterator[Finding]:
    flow = ctx.compiled
    dead_arms = _dead_arms(ctx)
    handler_used = flow.error_handler is not None and _flow_handler_used(flow)
    for info in flow.infos():
        if info.role is Role.SOURCE or (info.name == flow.error_handler and handler_used):
            continue
        reasons = []
        for u, _, d in flow.graph.in_edges(info.name, data=True):
            if (u, info.name) in dead_arms:
                reasons.append(f"the arm of '{u}' leading to it is never taken")
            elif d["kind"] is EdgeKind.ERROR and flow.info(u).role is Role.SOURCE:
                reasons.append(f"it handles the errors of source '{u}', and a source never fails")
            else:
                break
        else:
            if info.name == flow.error_handler:
                reasons.append("every node it would handle has an error route of its own")
            if reasons:  # no incoming edge at all is E120's
                yield Finding(
                    f"{info.role.value} '{info.name}' never gets a message: " + "; ".join(reasons),
                    info.span,
                    "remove it, or route to it from where messages fail or pass (a source's messages fail "
                    "at the nodes after it: `on error <node> -> ...`)",
                )


def _redelivering_sources(flow: CompiledFlow) -> list[str]:
    """Sources whose failures come back to them as redeliveries: all but those whose sender waits
    for the verdict (`KindSpec.answers_sender`: an HTTP status, an MLLP ACK), who decides itself."""
    return [i.name for i in flow.by_role(Role.SOURCE) if not (i.spec and i.spec.answers_sender)]


def unhandled_sink_errors(ctx: LintContext) -> Iterator[Finding]:
    flow = ctx.compiled
    if flow.error_handler:
        return
    sources = _redelivering_sources(flow)
    reached: set[str] = set()
    for source in sources:
        reached |= nx.descendants(flow.graph, source)
    normal = _forward_reach(flow, sources)
    for info in flow.by_role(Role.SINK):
        if info.name not in reached or not info.does_external_io:
            continue
        if info.name not in normal:  # only error routes lead here, and their failures are not routed again
            yield Finding(
                f"sink '{info.name}' ({info.kind}) is in an error route, where a failure is not routed again: "
                f"when it fails, {_REDELIVERED}",
                info.span,
                "end the error route in a sink that cannot fail for long: `dead_letter()` keeps the message in "
                "the engine's state for `flowengine dlq replay`; or give this sink `retry: {attempts: ...}`",
            )
            continue
        if flow.successors(info.name, EdgeKind.ERROR):
            continue
        yield Finding(
            f"sink '{info.name}' ({info.kind}) has no error route: when it fails, {_REDELIVERED}",
            info.span,
            f"route its failures, e.g. `on error {info.name} -> dead_letters`, or add a flow-wide `on error -> ...`",
        )


_REDELIVERED = (
    "the source message is not acknowledged and the broker delivers it again (a lasting fault repeats forever)"
)


def _forward_reach(flow: CompiledFlow, sources: list[str]) -> set[str]:
    """The nodes that `sources` reach on normal paths, without passing through an error route."""
    normal = nx.DiGraph((u, v) for u, v, d in flow.graph.edges(data=True) if d["kind"] in _FORWARD)
    return {n for s in sources if s in normal for n in nx.descendants(normal, s)}


UNUSED = Rule(
    "W201",
    "a node that is connected but never gets a message (only never-taken arms or never-used error routes lead to it)",
    """\
flow f {
  source in = memory.in()
  sink out = memory.out()
  sink failed = log(level: "error")
  in -> out
  on error in -> failed
}
""",
    """\
flow f {
  source in = memory.in()
  sink out = memory.out()
  sink failed = log(level: "error")
  in -> out
  on error out -> failed
}
""",
    unused_nodes,
)

UNHANDLED_SINK = Rule(
    "W205",
    "a sink that talks to the outside (an external kind: http, amqp, mqtt, mllp, ...), fed by a broker source, "
    "has no error route, or is itself in one (where failures are not routed again)",
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
