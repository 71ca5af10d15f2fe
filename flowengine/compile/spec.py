"""Node kind specifications: the one place a kind describes itself.

A `KindSpec` names a kind, gives its role and summary, lists its option fields,
and says how to build its runtime node. From that single declaration come the
compile-time option checks (a JSON Schema generated here), the linter's
"did you mean", the generated node reference and the REST API's validation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowengine.compile.build import BuildContext
    from flowengine.core.nodes import Node


class Role(StrEnum):
    SOURCE = "source"
    TRANSFORM = "transform"
    BRANCH = "branch"
    SINK = "sink"


class MappingUse(StrEnum):
    """Whether a kind takes a `{ field: expression }` block after its options."""

    NONE = "none"
    OPTIONAL = "optional"
    REQUIRED = "required"


@dataclass(frozen=True)
class Field:
    """One option: its JSON Schema fragment, default and documentation.

    `expression` marks a string compiled as a sandboxed expression at load time;
    `template` marks a string rendered per message (`{{ ... }}` allowed);
    `secret` values are shown as `***` wherever options are displayed.
    """

    schema: dict[str, Any]
    description: str
    default: Any = None
    required: bool = False
    secret: bool = False
    expression: bool = False
    template: bool = False
    examples: tuple[Any, ...] = ()


@dataclass(frozen=True)
class KindSpec:
    """A node kind. `calls`, for kinds that run other nodes of the flow (a saga's steps, an
    enrich lookup), lists the `(option, node name)` pairs its resolved options name: the
    compiler checks each name and draws a `call` edge, and the runtime lets the node run them.

    Two traits tell the core what it would otherwise have to guess from a kind's name:
    `external` marks a kind that talks to the world outside the engine (a broker, a socket, an
    HTTP peer): under `flowengine test` its I/O nodes are replaced by doubles, and W205 asks its
    sinks for an error route. `answers_sender` marks a source whose sender waits for the verdict
    (an HTTP status, an MLLP ACK, the host's `Outcome`), so a failure goes back to the sender
    rather than to a broker that would deliver the message again (W205 leaves those paths alone)."""

    name: str
    role: Role
    summary: str
    build: Callable[[BuildContext], Node]
    options: dict[str, Field] = field(default_factory=dict)
    mapping: MappingUse = MappingUse.NONE
    description: str = ""
    calls: Callable[[dict[str, Any]], list[tuple[str, str]]] | None = None
    external: bool = False
    answers_sender: bool = False

    def options_schema(self) -> dict[str, Any]:
        """The JSON Schema (Draft 2020-12) that a node's options must satisfy."""
        props = {}
        for name, f in self.options.items():
            prop = dict(f.schema)
            prop["description"] = f.description
            if f.default is not None:
                prop["default"] = f.default
            props[name] = prop
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": self.name,
            "description": self.summary,
            "type": "object",
            "properties": props,
            "required": sorted(n for n, f in self.options.items() if f.required),
            "additionalProperties": False,
        }

    def defaults(self) -> dict[str, Any]:
        return {n: f.default for n, f in self.options.items() if f.default is not None}
