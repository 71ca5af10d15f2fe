"""The layering of the code, read from the import graph with `ast` (docs/architecture.md).

Every import that runs counts, also one inside a function: a lazy import is still a
dependency. Imports under `if TYPE_CHECKING:` are left out: they name a type for annotations
(a connector's `Services`) and never load the module. A rule names a layer (a folder) and the layers it must not import.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Rule:
    layer: str  # dotted prefix of the importing modules
    forbidden: tuple[str, ...] = ()  # dotted prefixes it must not import
    only: tuple[str, ...] | None = None  # if set: of first-party modules, only these prefixes

    def breaks(self, target: str) -> bool:
        if self.only is not None:
            return is_first_party(target) and not any(within(target, p) for p in self.only)
        return any(within(target, p) for p in self.forbidden)


RULES = [
    Rule("dsl", forbidden=("flowengine", "connectors")),
    Rule("flowengine", forbidden=("connectors",)),
    Rule("connectors", only=("connectors", "flowengine.plugin", "flowengine.formats")),
    Rule("flowengine.core", only=("flowengine.core", "flowengine.errors")),
    Rule("flowengine.observe", only=("flowengine.observe", "flowengine.core", "flowengine.errors")),
    Rule(
        "flowengine.expressions",
        only=("flowengine.expressions", "flowengine.core", "flowengine.errors", "flowengine.formats"),
    ),
    Rule(
        "flowengine.compile",
        forbidden=("flowengine.runtime", "flowengine.api", "flowengine.cli", "flowengine.lint", "flowengine.ui"),
    ),
    Rule("flowengine.runtime", forbidden=("flowengine.api", "flowengine.cli", "flowengine.lint", "flowengine.ui")),
    Rule("flowengine.lint", forbidden=("flowengine.runtime", "flowengine.api", "flowengine.cli", "flowengine.ui")),
    Rule("flowengine.formats", only=("flowengine.formats", "flowengine.errors")),
]


def within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def is_first_party(module: str) -> bool:
    return any(within(module, top) for top in ("dsl", "flowengine", "connectors"))


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(root: Path, path: Path) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import in the file, relative ones resolved."""
    package = module_name(root, path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:  # `from flowengine import runtime` imports a module, not flowengine
                yield node.lineno, f"{module}.{alias.name}"


def runtime_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of the tree but those under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from (n for stmt in node.orelse for n in [stmt, *runtime_nodes(stmt)])
            continue
        yield node
        yield from runtime_nodes(node)


def violations(root: Path) -> list[str]:
    found = []
    for top in ("dsl", "flowengine", "connectors"):
        for path in sorted((root / top).rglob("*.py")):
            importer = module_name(root, path)
            for rule in RULES:
                if not within(importer, rule.layer):
                    continue
                for line, target in imports_of(root, path):
                    if rule.breaks(target):
                        found.append(f"{path.relative_to(root)}:{line}: {importer} imports {target} ({rule.layer})")
    return sorted(set(found))


def test_no_layer_imports_upward() -> None:
    assert violations(REPO) == []


def test_a_planted_upward_import_is_caught(tmp_path: Path) -> None:
    for folder in ("dsl", "connectors/kafka", "flowengine/compile", "flowengine/api"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "flowengine/api/__init__.py").write_text("")
    (tmp_path / "flowengine/compile/graph.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from flowengine.cli import main\n"
        "def f():\n    from flowengine.api import app\n"
    )
    (tmp_path / "connectors/kafka/send.py").write_text("from flowengine.runtime.flow import X\n")
    (tmp_path / "dsl/parser.py").write_text("import connectors.memory\n")
    found = violations(tmp_path)
    assert any("flowengine/compile/graph.py:5" in v and "flowengine.api" in v for v in found)
    assert not any("flowengine.cli" in v for v in found)  # a type-only import is no dependency
    assert any("connectors/kafka/send.py:1" in v for v in found)
    assert any("dsl/parser.py:1" in v for v in found)


def test_flowengine_keeps_few_top_level_modules() -> None:
    modules = sorted(p.name for p in (REPO / "flowengine").glob("*.py"))
    assert len(modules) <= 8, modules


@pytest.mark.parametrize("package", sorted(p.parent.name for p in (REPO / "flowengine").glob("*/__init__.py")), ids=str)
def test_every_sub_package_says_its_role(package: str) -> None:
    init = REPO / "flowengine" / package / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    assert doc and len(doc) > 40, f"flowengine/{package}/__init__.py needs a docstring saying what it owns"


def all_imports(root: Path, path: Path, modules: set[str]) -> Iterator[str]:
    """Every module a file imports, type-only imports included; `from pkg import sub` is pkg.sub."""
    package = module_name(root, path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:
                yield f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def module_cycles(root: Path, folder: str) -> list[list[str]]:
    """Import loops between the modules under `folder` (a loop even through TYPE_CHECKING means two
    modules that cannot be understood one without the other)."""
    paths = {module_name(root, p): p for p in (root / folder).rglob("*.py")}
    graph = {m: {t for t in all_imports(root, p, set(paths)) if t in paths and t != m} for m, p in paths.items()}
    cycles, state = [], {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return cycles


@pytest.mark.parametrize("folder", ["dsl", "flowengine/formats", "flowengine/core"])
def test_no_import_loops_in_the_leaf_layers(folder: str) -> None:
    assert module_cycles(REPO, folder) == []
