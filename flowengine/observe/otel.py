"""OpenTelemetry: a span per message and per node, when an exporter is configured.

Tracing is off unless `FLOWENGINE_OTEL_EXPORTER` is set (`console`, or `otlp`
with the `otlp` extra installed: `pip install 'flowengine[otlp]'`), or the embedding
program installed an SDK tracer provider itself. When off, the runtime pays
nothing per message. A message's `traceparent` (from HTTP headers, AMQP
headers, MQTT 5 user properties) becomes the parent of its spans, so the
engine's work joins the caller's trace.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from flowengine.core.message import Message
from flowengine.errors import ConnectorError

if TYPE_CHECKING:
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
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


OTLP_MODULE = "opentelemetry.exporter.otlp.proto.http.trace_exporter"
OTLP_MISSING = f"{ENV}=otlp needs the OTLP exporter: pip install 'flowengine[otlp]'"
SERVICE_NAME = "flowengine"  # resource service.name unless OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES say


def check_environment() -> None:
    """Refuse a bad exporter setting before anything starts (`run`, `serve`): a `ConnectorError`
    with one line, where the first message's tracer would otherwise fail deep in a start-up."""
    name = os.environ.get(ENV)
    if not name:
        return
    if name not in ("console", "otlp"):
        raise ConnectorError(f"{ENV} must be 'console' or 'otlp', not {name!r}")
    if name == "otlp":
        try:
            found = importlib.util.find_spec(OTLP_MODULE) is not None
        except ImportError:  # a parent package is missing
            found = False
        if not found:
            raise ConnectorError(OTLP_MISSING)


def _exporter(name: str) -> SpanExporter:
    check_environment()
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError as err:  # there, but broken (a dependency's version)
        raise ConnectorError(f"{OTLP_MISSING} ({err})") from None
    return OTLPSpanExporter()


def _resource() -> Resource:
    """OpenTelemetry's resource from the environment, named `flowengine` unless it names itself."""
    from opentelemetry.sdk.resources import SERVICE_NAME as KEY
    from opentelemetry.sdk.resources import Resource

    detected = Resource.create()
    if str(detected.attributes.get(KEY, "")).startswith("unknown_service"):
        return detected.merge(Resource({KEY: SERVICE_NAME}))
    return detected


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
        provider = TracerProvider(resource=_resource())
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
        trace.set_tracer_provider(provider)
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        return None
    return NodeTracer(trace.get_tracer("flowengine"))
