"""W206: a `json.map` reading a field that the JSON Schema of its input does not declare.

The schema of a json.map's input is the one of the `json.validate` that every
path into it passes through, with only body-preserving nodes between (a branch,
filter, multicast, log or another validate). Fields read as `body.a.b` or
`body["a"][0]` are looked up in the schema, following `$ref`s to files beside
it and the `properties` / `items` of objects and arrays; a schema that leaves a
level open (no `properties`) is trusted, so only names the schema could have
listed and did not are reported — usually a typo.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import orjson
from jinja2 import nodes

from dsl import ast
from flowengine.compile.build import BuildContext, BuildError
from flowengine.compile.files import FileRefused, FileRoot
from flowengine.compile.graph import CompiledFlow, EdgeKind
from flowengine.expressions.depth import check
from flowengine.lint.rules.base import Finding, LintContext, Rule

_ENV = jinja2.Environment(autoescape=False)
_PRESERVING = {"branch", "filter", "multicast", "log", "json.validate"}
_INTO = (EdgeKind.NEXT, EdgeKind.WHEN, EdgeKind.ELSE)
_OPEN: Any = object()  # a level the schema leaves open: anything may be there


def _validator_upstream(flow: CompiledFlow, name: str) -> str | None:
    """The json.validate every path into `name` passes last, if there is exactly one."""
    found: set[str] = set()
    frontier, seen = [name], {name}
    while frontier:
        node = frontier.pop()
        preds = [u for u, _, d in flow.graph.in_edges(node, data=True) if d["kind"] in _INTO]
        if not preds:
            return None
        for pred in preds:
            kind = flow.info(pred).kind
            if kind == "json.validate":
                found.add(pred)
            elif kind in _PRESERVING and pred not in seen:
                seen.add(pred)
                frontier.append(pred)
            elif kind not in _PRESERVING:
                return None
    return found.pop() if len(found) == 1 else None


class _Schemas:
    """Loads schema files once per lint run and resolves `$ref`s between them."""

    def __init__(self, root: FileRoot) -> None:
        self.root = root  # `$ref`s go through the flow's files root, like the schema itself
        self.files: dict[Path, Any] = {}

    def load(self, path: Path) -> Any:
        if path not in self.files:
            try:
                self.files[path] = orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError):
                self.files[path] = _OPEN
        return self.files[path]

    def resolve(self, schema: Any, where: Path) -> tuple[Any, Path]:
        for _ in range(32):  # a $ref chain longer than this is a loop
            if not isinstance(schema, dict) or "$ref" not in schema:
                return schema, where
            ref, _, pointer = str(schema["$ref"]).partition("#")
            if ref:
                try:
                    where = self.root.at(where.parent).resolve(ref.removeprefix("file://"))
                except FileRefused:
                    return _OPEN, where
            schema = self.load(where)
            for part in [p for p in pointer.split("/") if p]:
                key = part.replace("~1", "/").replace("~0", "~")
                schema = schema.get(key, _OPEN) if isinstance(schema, dict) else _OPEN
        return _OPEN, where

    def lookup(self, schema: Any, where: Path, path: list[str | int]) -> list[str] | None:
        """None when the schema allows `path`; else the names it declares where `path` leaves it."""
        for key in path:
            schema, where = self.resolve(schema, where)
            if schema is _OPEN or not isinstance(schema, dict):
                return None
            if isinstance(key, int) or key.isdigit():
                schema = schema.get("items", _OPEN)
                continue
            props = dict(schema.get("properties", {}))
            for part in schema.get("allOf", []) + schema.get("anyOf", []) + schema.get("oneOf", []):
                part, _ = self.resolve(part, where)
                if not isinstance(part, dict) or "properties" not in part:
                    return None
                props.update(part["properties"])
            if not props or schema.get("patternProperties") or isinstance(schema.get("additionalProperties"), dict):
                return None
            if key not in props:
                return sorted(props)
            schema = props[key]
        return None


@functools.lru_cache(maxsize=4096)
def _body_paths(source: str) -> tuple[tuple[str | int, ...], ...]:
    """Each `body.a["b"][0]` chain an expression reads, as (a, b, 0)."""
    try:
        check(_ENV, source, expression=True)
        tree = _ENV.parse("{{ (" + source + ") }}")
    except jinja2.TemplateSyntaxError:
        return ()
    chains = (_chain(node) for node in tree.find_all((nodes.Getattr, nodes.Getitem)))
    return tuple(tuple(c) for c in chains if c)


def _chain(node: nodes.Node) -> list[str | int] | None:
    if isinstance(node, nodes.Name):
        return [] if node.name == "body" else None
    if isinstance(node, nodes.Getattr):
        head = _chain(node.node)
        return None if head is None else [*head, node.attr]
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str | int):
        head = _chain(node.node)
        return None if head is None else [*head, node.arg.value]
    return None


def _schema_of(flow: CompiledFlow, validator: str, files: FileRoot) -> Path | None:
    info = flow.info(validator)
    ctx = BuildContext(flow.name, validator, info.kind, info.options, info.span, files=files)
    try:
        return ctx.resolve_file("schema").resolve()
    except (BuildError, KeyError):
        return None


def unknown_fields(ctx: LintContext) -> Iterator[Finding]:
    flow = ctx.compiled
    schemas = _Schemas(ctx.files)
    for info in flow.infos():
        if info.kind != "json.map" or not info.mapping:
            continue
        validator = _validator_upstream(flow, info.name)
        where = _schema_of(flow, validator, ctx.files) if validator else None
        if validator is None or where is None:
            continue
        for entry in info.mapping:
            yield from _check_entry(entry, schemas, where, validator)


def _check_entry(entry: ast.MapEntry, schemas: _Schemas, where: Path, validator: str) -> Iterator[Finding]:
    reported: set[tuple[str | int, ...]] = set()
    for path in sorted((list(p) for p in _body_paths(entry.expr)), key=len):
        if any(tuple(path[: len(r)]) == r for r in reported):
            continue
        for depth in range(1, len(path) + 1):
            declared = schemas.lookup(schemas.load(where), where, path[:depth])
            if declared is not None:
                field = "body" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path[:depth])
                close = difflib.get_close_matches(str(path[depth - 1]), declared, n=1)
                hint = f"did you mean '{close[0]}'?" if close else "it declares: " + ", ".join(declared)
                yield Finding(
                    f"'{field}' is not in the schema of '{validator}' ({where.name}); it reads as null",
                    entry.expr_span,
                    hint,
                )
                reported.add(tuple(path[:depth]))
                break


UNKNOWN_FIELD = Rule(
    "W206",
    "a `json.map` reads a field the JSON Schema of its input (from `json.validate` upstream) does not declare",
    """\
flow f {
  source in = memory.in()
  transform check = json.validate(schema: "schemas/order.schema.json")
  transform norm = json.map { name: body.custmer.name }
  sink out = memory.out()
  in -> check -> norm -> out
}
""",
    """\
flow f {
  source in = memory.in()
  transform check = json.validate(schema: "schemas/order.schema.json")
  transform norm = json.map { name: body.customer.name }
  sink out = memory.out()
  in -> check -> norm -> out
}
""",
    unknown_fields,
)
