"""OpenTelemetry: one span per message and per node, continuing the caller's trace."""

from __future__ import annotations

import os
import subprocess
import sys

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from connectors.memory import hub_of
from flowengine.core.message import Message
from flowengine.observe.otel import NodeTracer, _resource
from flowengine.runtime.engine import Engine
from flowengine.runtime.services import Services
from tests.conftest import REPO, compile_ok

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def test_spans_per_message_and_node_join_the_incoming_trace():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    services = Services()
    services.tracer = NodeTracer(provider.get_tracer("test"))
    engine = Engine(services)
    await engine.deploy(compile_ok("flow t {\n  source in = memory.in()\n  transform m = json.map { x: body.x }\n  sink out = memory.out()\n  in -> m -> out\n}"))
    assert (await hub_of(services).send("in", Message(b'{"x": 1}', traceparent=TRACE))).ok
    await engine.stop()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"t message", "t/m", "t/out"}
    root = spans["t message"]
    assert f"{root.context.trace_id:032x}" == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert root.parent is not None and f"{root.parent.span_id:016x}" == "00f067aa0ba902b7"
    for name in ("t/m", "t/out"):
        assert spans[name].parent.span_id == root.context.span_id
        assert spans[name].attributes["flowengine.node"] == name.split("/")[1]


def test_tracing_is_off_without_an_exporter(monkeypatch):
    monkeypatch.delenv("FLOWENGINE_OTEL_EXPORTER", raising=False)
    assert Services().tracer is None


def test_an_exporter_turns_tracing_on_in_a_fresh_process():
    """The SDK is imported only when tracing can be on; a configured exporter must still get it."""
    check = (
        "import sys\n"
        "from flowengine.runtime.services import Services\n"
        "assert 'opentelemetry.sdk.trace' not in sys.modules\n"
        "assert Services().tracer is not None\n"
    )
    env = {**os.environ, "FLOWENGINE_OTEL_EXPORTER": "console"}
    proc = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_otlp_without_its_package_is_one_line_naming_the_extra():
    """The exporter made absent the way Python sees a missing package (a None entry in sys.modules)."""
    start = (
        "import sys\n"
        "sys.modules['opentelemetry.exporter.otlp'] = None\n"
        "from flowengine.cli.main import app\n"
        "app(['run', 'flows/hello.flow', '--port', '0'])\n"
    )
    env = {**os.environ, "FLOWENGINE_OTEL_EXPORTER": "otlp"}
    proc = subprocess.run(
        [sys.executable, "-c", start], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr == "error: FLOWENGINE_OTEL_EXPORTER=otlp needs the OTLP exporter: pip install 'flowengine[otlp]'\n"


def test_spans_name_the_service_flowengine_unless_the_environment_does(monkeypatch):
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert _resource().attributes["service.name"] == "flowengine"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "billing-engine")
    assert _resource().attributes["service.name"] == "billing-engine"
