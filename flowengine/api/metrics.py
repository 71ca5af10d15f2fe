"""Prometheus metrics of the engine, read from the running flows at scrape time.

Counters are not kept twice: a collector reads each runtime's `NodeStats` when
Prometheus scrapes, so a metric is exactly what `GET /api/flows/{name}` shows. A
redeploy starts a version with fresh counters, which Prometheus treats as a
counter reset (`rate()` handles it). The one thing a scrape cannot read after
the fact is how long messages took, so the engine's observer hook feeds a
histogram as each source message finishes.

    flowengine_node_received_total{flow,node,kind}     messages into a node
    flowengine_node_sent_total{flow,node,kind}         messages out of a node
    flowengine_node_errors_total{flow,node,kind}       failures at a node
    flowengine_node_dropped_total{flow,node,kind}      messages a node dropped on purpose
    flowengine_flow_in_flight{flow}                    messages a flow is working on
    flowengine_node_in_flight{flow,node,kind}          messages inside a (non-source) node
    flowengine_connector_connected{flow,node,kind}     1 when a source's/sink's connection is up
    flowengine_flow_up{flow}                           1 running, 0 stopped/paused/failed
    flowengine_flow_version{flow}                      current revision number
    flowengine_message_processing_seconds{flow,source} time from source to every path finished
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from flowengine.compile.spec import Role
from flowengine.runtime.engine import Engine

FlowState = tuple[str, int, bool]
"""(flow name, current version, running and consuming)"""

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """The engine's metric registry. `observe` is the engine's observer hook (timings);
    `watch` adds the collector that reads the runtimes."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._histogram = Histogram(
            "flowengine_message_processing_seconds",
            "Time from a source taking a message until every path finished",
            ["flow", "source"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self._seen: set[tuple[str, str]] = set()

    def observe(self, flow: str, source: str, seconds: float) -> None:
        self._histogram.labels(flow, source).observe(seconds)
        self._seen.add((flow, source))

    def forget(self, flow: str) -> None:
        """Drop a deleted flow's timing series."""
        for key in [k for k in self._seen if k[0] == flow]:
            self._histogram.remove(*key)
            self._seen.discard(key)

    def watch(self, engine: Engine, flows: Callable[[], Iterable[FlowState]]) -> None:
        self.registry.register(EngineCollector(engine, flows))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class EngineCollector(Collector):
    def __init__(self, engine: Engine, flows: Callable[[], Iterable[FlowState]]) -> None:
        self._engine = engine
        self._flows = flows

    def collect(self) -> Iterator[Metric]:
        labels = ["flow", "node", "kind"]
        counters = {
            field: CounterMetricFamily(f"flowengine_node_{field}", f"Messages a node {verb}", labels=labels)
            for field, verb in (
                ("received", "received"),
                ("sent", "sent on"),
                ("errors", "failed on"),
                ("dropped", "dropped on purpose"),
            )
        }
        node_in_flight = GaugeMetricFamily("flowengine_node_in_flight", "Messages inside a node now", labels=labels)
        connected = GaugeMetricFamily(
            "flowengine_connector_connected", "1 when a source's or sink's connection is up", labels=labels
        )
        flow_in_flight = GaugeMetricFamily("flowengine_flow_in_flight", "Messages a flow works on now", labels=["flow"])
        for runtime in list(self._engine.flows.values()):
            flow_in_flight.add_metric([runtime.name], runtime.in_flight)
            for info in runtime.flow.infos():
                stats = runtime.stats[info.name]
                key = [runtime.name, info.name, info.kind]
                for field, family in counters.items():
                    family.add_metric(key, getattr(stats, field))
                if info.role is not Role.SOURCE:
                    node_in_flight.add_metric(key, max(0, stats.received - stats.sent - stats.errors))
                if info.role in (Role.SOURCE, Role.SINK) and info.runtime is not None:
                    connected.add_metric(key, 1 if info.runtime.connected else 0)
        up = GaugeMetricFamily("flowengine_flow_up", "1 when the flow runs and consumes", labels=["flow"])
        version = GaugeMetricFamily("flowengine_flow_version", "Current revision of the flow", labels=["flow"])
        for name, current, running in self._flows():
            up.add_metric([name], 1 if running else 0)
            version.add_metric([name], current)
        yield from (*counters.values(), node_in_flight, connected, flow_in_flight, up, version)
