"""OpenTelemetry: a span per message and per node, when an exporter is configured.

Tracing is off unless `FLOWENGINE_OTEL_EXPORTER` is set (`console`, or `otlp`
with opentelemetry-exporter-otlp-proto-http installed), or the embedding
program installed an SDK tracer provider itself. When off, the runtime pays
nothing per message. A message's `traceparent` (from HTTP headers, AMQP
headers, MQTT 5 user properties) becomes the parent of its spans, so the
engine's work joins the caller's trace.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flowengine.errors import ConnectorError
from flowengine.message import Message

if TYPE_CHECKING:
    from opentelemetry import trace
    from opentelemetry.sdk.trace.export import SpanExporter

ENV = "FLOWENGINE_OTEL_EXPORTER"
SDK = "opentelemetry.sdk.trace"
PROVIDER_ENV = "OTEL_PYTHON_TRACER_PROVIDER"  # the OpenTelemetry API's own setting


class NodeTracer:
    def __init__(self, tracer: trace.Tracer) -> None:
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        self.tracer = tracer
        self._propagator = TraceContextTextMapPropagator()

    @contextmanager
    def message_span(self, flow: str, source: str, msg: Message) -> Iterator[None]:
        """The span of one message's whole trip; continues the message's own trace."""
        parent = self._propagator.extract({"traceparent": msg.traceparent}) if msg.traceparent else None
        attributes = {"flowengine.flow": flow, "flowengine.source": source, "messaging.message.id": msg.id}
        with self.tracer.start_as_current_span(f"{flow} message", context=parent, attributes=attributes):
            yield

    @contextmanager
    def node_span(self, flow: str, node: str, kind: str) -> Iterator[None]:
        attributes = {"flowengine.flow": flow, "flowengine.node": node, "flowengine.kind": kind}
        with self.tracer.start_as_current_span(f"{flow}/{node}", attributes=attributes):
            yield


def _exporter(name: str) -> SpanExporter:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    if name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            raise ConnectorError(f"{ENV}=otlp needs the package opentelemetry-exporter-otlp-proto-http") from None
        return OTLPSpanExporter()
    raise ConnectorError(f"{ENV} must be 'console' or 'otlp', not {name!r}")


def tracer_from_environment() -> NodeTracer | None:
    """A tracer when an exporter is configured (or an SDK provider is installed), else None.

    OpenTelemetry is imported only when tracing can be on (0.03 s of start-up otherwise):
    without an exporter, an SDK provider exists only if the program imported the SDK or
    names a provider for the API to load (OTEL_PYTHON_TRACER_PROVIDER).
    """
    name = os.environ.get(ENV)
    if not (name or SDK in sys.modules or PROVIDER_ENV in os.environ):
        return None
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    if name:
        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
        trace.set_tracer_provider(provider)
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        return None
    return NodeTracer(trace.get_tracer("flowengine"))
