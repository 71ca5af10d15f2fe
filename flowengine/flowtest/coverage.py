"""Edge coverage: which edges of each tested flow the test cases made a message take.

An edge is a chain step (`a -> b`), a branch arm (`when ... -> x`, `else -> y`),
an error route (`on error a -> h`; a flow-wide `on error -> h` counts as one
edge, from `*`) or a call (a node running another). Coverage is gathered over
every case of every test file of a flow, so an `else` no test reaches shows up
in the list of untested edges.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flowengine.compile.graph import CompiledFlow, EdgeKind
from flowengine.flowtest.doubles import FLOW_WIDE


@dataclass(frozen=True, order=True)
class Edge:
    line: int
    source: str
    target: str
    kind: EdgeKind
    condition: str | None = None

    def describe(self) -> str:
        if self.kind is EdgeKind.WHEN:
            return f"{self.source} -> {self.target} (when {self.condition})"
        if self.kind is EdgeKind.ELSE:
            return f"{self.source} -> {self.target} (else)"
        if self.kind is EdgeKind.ERROR:
            return f"on error {'' if self.source == FLOW_WIDE else self.source + ' '}-> {self.target}"
        if self.kind is EdgeKind.CALL:
            return f"{self.source} runs {self.target}"
        return f"{self.source} -> {self.target}"


@dataclass
class FlowCoverage:
    path: str
    flow: str
    edges: dict[tuple[str, str], Edge] = field(default_factory=dict)
    exercised: set[tuple[str, str]] = field(default_factory=set)

    @property
    def untested(self) -> list[Edge]:
        return sorted(e for k, e in self.edges.items() if k not in self.exercised)

    @property
    def percent(self) -> float:
        return 100.0 * len(self.exercised) / len(self.edges) if self.edges else 100.0

    def mark(self, source: str, target: str, _kind: EdgeKind) -> None:
        if (source, target) in self.edges:
            self.exercised.add((source, target))

    def summary(self) -> str:
        return (
            f"{self.flow} ({self.path}): {len(self.exercised)} of {len(self.edges)} edges exercised "
            f"({self.percent:.0f}%)"
        )


class Coverage:
    """Coverage of every flow the test run touched, keyed by (flow file, flow name)."""

    def __init__(self) -> None:
        self.flows: dict[tuple[str, str], FlowCoverage] = {}

    def track(self, flow: CompiledFlow) -> FlowCoverage:
        key = (flow.path, flow.name)
        if key not in self.flows:
            cov = FlowCoverage(flow.path, flow.name)
            for u, v, d in flow.graph.edges(data=True):
                cov.edges[(u, v)] = Edge(d["span"].line, u, v, d["kind"], d.get("condition"))
            if flow.error_handler:
                cov.edges[(FLOW_WIDE, flow.error_handler)] = Edge(
                    flow.span.end_line, FLOW_WIDE, flow.error_handler, EdgeKind.ERROR
                )
            self.flows[key] = cov
        return self.flows[key]

