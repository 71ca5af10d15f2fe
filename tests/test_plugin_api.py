"""The connector door: `flowengine.plugin` exports what it says, and connectors use nothing else.

The import check reads the source with `ast` (nothing is imported), so it also covers modules
that only load when a flow uses their kind. `flowengine.formats` is allowed beside the plugin
module: the engine-free format libraries (HL7, XML) a transport may need for its payloads.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import flowengine.plugin as plugin
from tests.conftest import REPO

ALLOWED = ("flowengine.plugin", "flowengine.formats")
CONNECTOR_CODE = [REPO / "connectors", REPO / "tests" / "plugin_fixture" / "site"]


@pytest.mark.parametrize("name", plugin.__all__)
def test_every_exported_name_resolves(name: str) -> None:
    assert getattr(plugin, name) is not None


def test_the_exports_are_exactly_the_names_the_module_serves() -> None:
    assert sorted(plugin.__all__) == sorted(plugin._HOME_OF) == dir(plugin)
    with pytest.raises(AttributeError, match="has no attribute 'Compiler'"):
        _ = plugin.Compiler


def test_importing_the_door_loads_nothing_behind_it() -> None:
    """A connector's entry point imports the plugin module at start-up; that must stay cheap."""
    code = "import sys, flowengine.plugin; print(sorted(m for m in sys.modules if m.startswith('flowengine')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.strip() == "['flowengine', 'flowengine.plugin']"


def _engine_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of each import of a `flowengine` module in the file, `from flowengine import x`
    counting as `flowengine.x`."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "flowengine":
                found += [(node.lineno, f"flowengine.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return [(line, m) for line, m in found if m == "flowengine" or m.startswith("flowengine.")]


def _reaches_past_the_door(module: str) -> bool:
    return not any(module == allowed or module.startswith(allowed + ".") for allowed in ALLOWED)


def test_connectors_import_only_the_plugin_module_and_formats() -> None:
    offenders = [
        f"{path.relative_to(REPO)}:{line}: imports {module}"
        for root in CONNECTOR_CODE
        for path in sorted(root.rglob("*.py"))
        for line, module in _engine_imports(path)
        if _reaches_past_the_door(module)
    ]
    assert offenders == []


def test_the_check_catches_a_connector_that_reaches_past_the_door(tmp_path: Path) -> None:
    planted = tmp_path / "leaky.py"
    planted.write_text(
        "from flowengine import formats, errors\nimport flowengine.compile.spec\nfrom flowengine.plugin import Message\n"
    )
    assert [m for _, m in _engine_imports(planted) if _reaches_past_the_door(m)] == [
        "flowengine.errors",
        "flowengine.compile.spec",
    ]
