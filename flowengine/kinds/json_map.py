"""`json.map`: build a JSON object from sandboxed expressions, one per field.

Dotted field names nest (`customer.name: ...` builds `{"customer": {"name": ...}}`);
quote a name to keep a dot in it. Expressions are compiled when the flow loads.
"""

from __future__ import annotations

from typing import Any

from flowengine.compile.build import BuildContext
from flowengine.compile.spec import Field, KindSpec, MappingUse, Role
from flowengine.core.message import Message
from flowengine.core.nodes import Transform
from flowengine.expressions.compiled import Expression, is_undefined


class JsonMap(Transform):
    def __init__(self, name: str, fields: list[tuple[tuple[str, ...], Expression]], merge: bool) -> None:
        super().__init__(name, "json.map")
        self.fields = fields
        self.merge = merge
        # The common mapping (flat field names, replace mode) is built by one comprehension
        # over the raw evaluators; `_careful` runs only when that raises, for the named error.
        flat = not merge and all(len(path) == 1 for path, _ in fields)
        self._flat = [(path[0], expr.unchecked) for path, expr in fields] if flat else None

    def process(self, msg: Message) -> Message:
        if self._flat is not None:
            try:
                out = {key: evaluate(msg) for key, evaluate in self._flat}
            except Exception:  # evaluated again one by one in `_careful`, where the error is named
                return self._careful(msg)
            for key, value in out.items():
                if is_undefined(value):
                    out[key] = None
            return msg.derive(json=out)
        return self._careful(msg)

    def _careful(self, msg: Message) -> Message:
        out: dict[str, Any] = dict(msg.json) if self.merge and isinstance(msg.json, dict) else {}
        for path, expr in self.fields:
            value = expr(msg)
            if len(path) == 1:
                out[path[0]] = value
            else:
                _set_nested(out, path, value)
        return msg.derive(json=out)


def _set_nested(target: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        child = target.get(key)
        child = dict(child) if isinstance(child, dict) else {}
        target[key] = child
        target = child
    target[path[-1]] = value


def build(ctx: BuildContext) -> JsonMap:
    fields = []
    for entry in ctx.mapping:
        path = (entry.path,) if entry.quoted else tuple(entry.path.split("."))
        fields.append((path, ctx.expression(entry.expr, entry.expr_span)))
    return JsonMap(ctx.name, fields, merge=ctx.options["mode"] == "merge")


SPEC = KindSpec(
    name="json.map",
    role=Role.TRANSFORM,
    summary="Build a JSON object from a mapping block of sandboxed expressions.",
    description=(
        "Each line `field: expression` sets one field of the output. Expressions read `body`, "
        "`headers`, `attributes`, `id` and use Jinja2 filters (`| lower`, `| round(2)`, "
        '`| sum(attribute="price")`). A missing field reads as null.'
    ),
    build=build,
    mapping=MappingUse.REQUIRED,
    options={
        "mode": Field(
            {"enum": ["replace", "merge"]},
            "replace: output only the mapped fields; merge: update the input object",
            default="replace",
        ),
    },
)
