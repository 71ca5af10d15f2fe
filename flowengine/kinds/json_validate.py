"""`json.validate`: check a JSON body against a JSON Schema (Draft 2020-12, with `$ref`).

The schema and every schema it references by relative path are loaded and
checked when the flow loads. A failing message raises `ValidationFailed`
listing each violation with its JSON pointer (an HTTP source answers 422).
"""

from __future__ import annotations

import functools
import re
from typing import Any

import jsonschema
import orjson
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT202012 as _DRAFT

from flowengine.compile.build import BuildContext
from flowengine.compile.files import FileRefused, FileRoot
from flowengine.compile.spec import Field, KindSpec, Role
from flowengine.core.message import Message
from flowengine.core.nodes import Transform
from flowengine.errors import ValidationFailed

_REQUIRED = re.compile(r"^'(.*)' is a required property$")


class JsonValidate(Transform):
    def __init__(self, name: str, validator: jsonschema.protocols.Validator) -> None:
        super().__init__(name, "json.validate")
        self.validator = validator

    def process(self, msg: Message) -> Message:
        errors = list(self.validator.iter_errors(msg.json))
        if errors:
            details = sorted((_detail(e) for e in errors), key=lambda d: d["pointer"])
            summary = "; ".join(f"{d['pointer'] or '/'}: {d['message']}" for d in details[:3])
            raise ValidationFailed(f"body does not match the schema: {summary}", details=details)
        return msg


def _detail(err: jsonschema.ValidationError) -> dict[str, Any]:
    path = list(err.absolute_path)
    if err.validator == "required":  # point at the missing member itself, not its parent
        missing = _REQUIRED.match(err.message)
        if missing:
            path.append(missing.group(1))
    return {"pointer": _pointer(path), "message": err.message}


def _pointer(path: list[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _registry_for(files: FileRoot) -> Registry:
    """Resolve `$ref`s to files beside the schema through the flow's files root, never over the network."""

    def retrieve(uri: str) -> Resource:
        try:
            _, data = files.read_bytes(uri.removeprefix("file://"))
            contents = orjson.loads(data)
        except (FileRefused, orjson.JSONDecodeError):
            raise NoSuchResource(ref=uri) from None  # type: ignore[call-arg]  # attrs class: mypy misses its fields
        return Resource.from_contents(contents, default_specification=_DRAFT)

    return Registry(retrieve=retrieve)  # type: ignore[call-arg]  # attrs class: mypy misses its fields


@functools.lru_cache(maxsize=256)
def _checked(data: bytes) -> Any:
    """The schema in `data`, checked against the meta-schema once per content: the check
    costs more than the rest of a compile. Failures are not cached."""
    schema = orjson.loads(data)
    jsonschema.Draft202012Validator.check_schema(schema)
    return schema


def build(ctx: BuildContext) -> JsonValidate:
    path, data = ctx.read_file("schema")
    name = ctx.options["schema"]
    try:
        schema = _checked(data)
    except orjson.JSONDecodeError as err:
        raise ctx.fail(f"schema '{name}' is not valid JSON: {err}", "schema", code="E151") from None
    except jsonschema.SchemaError as err:
        raise ctx.fail(f"schema '{name}' is not a valid JSON Schema: {err.message}", "schema", code="E151") from None
    validator = jsonschema.Draft202012Validator(
        schema, registry=_registry_for(ctx.files.at(path.parent)), format_checker=jsonschema.FormatChecker()
    )
    return JsonValidate(ctx.name, validator)


SPEC = KindSpec(
    name="json.validate",
    role=Role.TRANSFORM,
    summary="Validate the JSON body against a JSON Schema (Draft 2020-12).",
    description=(
        "Passes valid messages on unchanged. An invalid one fails with every violation listed by "
        "JSON pointer; an HTTP source answers 422. `$ref`s resolve to files beside the schema."
    ),
    build=build,
    options={
        "schema": Field(
            {"type": "string", "minLength": 1},
            "Path of the schema file inside the files root, relative to the flow file's folder or a parent of it",
            required=True,
            examples=("schemas/order.schema.json",),
        ),
    },
)
