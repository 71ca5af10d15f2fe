"""The registry of kinds: lazily registered kinds are imported on first lookup, and are found,
suggested and listed exactly like the ones registered with their spec."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap

import pytest

from flowengine.compile.compiler import compile_text
from flowengine.compile.registry import Registry, default_registry
from flowengine.compile.spec import KindSpec, Role

KIND_MODULE = """
from flowengine.compile.spec import KindSpec, Role

SPEC = KindSpec("test.lazy", Role.SINK, "A kind in a module nobody imported yet", build=lambda ctx: None)
OTHER = KindSpec("test.other", Role.SINK, "Another", build=lambda ctx: None)
"""


@pytest.fixture
def kind_module(tmp_path, monkeypatch) -> str:
    """The name of a module defining kinds, importable and not imported yet."""
    (tmp_path / "lazy_kinds_for_test.py").write_text(KIND_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "lazy_kinds_for_test", raising=False)
    return "lazy_kinds_for_test"


def test_a_lazy_kind_is_imported_on_its_first_lookup(kind_module):
    registry = Registry()
    registry.register_lazy("test.lazy", f"{kind_module}:SPEC")
    assert "test.lazy" in registry and len(registry) == 1
    assert registry.suggest("test.lazzy") == "test.lazy"
    assert kind_module not in sys.modules  # known by name: no import yet
    spec = registry.get("test.lazy")
    assert isinstance(spec, KindSpec) and spec.name == "test.lazy"
    assert kind_module in sys.modules
    assert registry.get("test.lazy") is spec
    assert [s.name for s in registry.walk()] == ["test.lazy"]


def test_walk_imports_and_sorts_every_kind(kind_module):
    registry = Registry()
    registry.register_lazy("test.other", f"{kind_module}:OTHER")
    registry.register(KindSpec("test.eager", Role.SINK, "eager", build=lambda ctx: None))
    registry.register_lazy("test.lazy", f"{kind_module}:SPEC")
    assert [s.name for s in registry.walk()] == ["test.eager", "test.lazy", "test.other"]


def test_a_name_is_registered_once_whichever_way(kind_module):
    registry = Registry()
    registry.register_lazy("test.lazy", f"{kind_module}:SPEC")
    with pytest.raises(ValueError, match=re.escape("node kind 'test.lazy' is already registered")):
        registry.register(KindSpec("test.lazy", Role.SINK, "again", build=lambda ctx: None))
    with pytest.raises(ValueError, match="is not 'module:ATTRIBUTE'"):
        registry.register_lazy("test.other", kind_module)


def test_a_target_that_is_not_the_kinds_spec_is_an_error(kind_module):
    registry = Registry()
    registry.register_lazy("test.lazy", f"{kind_module}:OTHER")
    with pytest.raises(TypeError, match=re.escape(f"{kind_module}:OTHER is not the KindSpec of 'test.lazy'")):
        registry.get("test.lazy")


def test_every_installed_kind_resolves_to_its_own_spec():
    registry = default_registry()
    for name in registry.names():
        spec = registry.get(name)
        assert spec is not None and spec.name == name


def test_an_unknown_kind_is_suggested_among_the_lazy_connector_kinds():
    text = 'flow f {\n  source web = http.listen(path: "/x")\n  sink out = amqp.publsh(exchange: "x")\n  web -> out\n}\n'
    (d,) = compile_text(text, "t.flow", env={}).diagnostics
    assert (d.code, d.message) == ("E101", "unknown node kind 'amqp.publsh'; did you mean 'amqp.publish'?")


def test_compiling_an_http_flow_imports_no_other_transport_or_format():
    check = textwrap.dedent("""
        import sys
        from flowengine.compile.compiler import compile_text
        text = 'flow f {\\n  source web = http.listen(path: "/x")\\n  sink out = http.reply()\\n  web -> out\\n}\\n'
        assert compile_text(text, "t.flow", env={}).ok
        print(sorted({m.split(".")[0] for m in sys.modules} & {"aio_pika", "aiormq", "paho", "lxml", "httpx"}))
    """)
    proc = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "[]"
