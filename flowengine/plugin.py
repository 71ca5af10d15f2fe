"""The one module a connector imports: everything the engine offers to node kinds it does not ship.

A connector (ours under `connectors/`, or a third party's) declares its kinds with `KindSpec`
(name, role, option `Field`s, and the traits `external` / `answers_sender` the core reads instead
of guessing from names), builds runtime nodes (`Source`, `AsyncNode`, `Transform`, `Branch`) from
a `BuildContext`, moves `Message`s and settles them by `Outcome`, raises the engine's errors, and
registers its kinds in the `register(registry)` function its `flowengine.kinds` entry point names.
Besides this module a connector may import the engine-free format libraries of
`flowengine.formats`; nothing else of `flowengine` is a public interface, and tests/test_plugin_api.py
fails when a module under `connectors/` reaches past this door. docs/connectors/writing.md is the guide.

The names are resolved on first use, not when this module is imported: a connector's entry point
imports `flowengine.plugin` at start-up, and the modules behind it (Jinja2 templates, the store,
the tracer) should cost only the processes whose flows use them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowengine.compile.build import BuildContext, BuildError
    from flowengine.compile.netallow import Entry, Guard, UrlRefused, fixed_origin
    from flowengine.compile.registry import Registry
    from flowengine.compile.spec import Field, KindSpec, MappingUse, Role
    from flowengine.core.backoff import Backoff
    from flowengine.core.message import Exchange, Message
    from flowengine.core.nodes import AsyncNode, Branch, Call, Emit, Node, Output, Source, SourceContext, Transform
    from flowengine.core.outcome import Outcome
    from flowengine.endpoints.asgi import Answer, ClientGone, answer, error_answer, header_dict, json_answer, read_body
    from flowengine.endpoints.routes import Handler, HttpRoutes, RouteConflict
    from flowengine.errors import (
        BadMessage,
        ConnectorError,
        DeliveryFailed,
        FlowengineError,
        MessageError,
        MessageTooLarge,
        NodeFailed,
        NotConnected,
        ValidationFailed,
    )
    from flowengine.expressions.compiled import Expression, Template
    from flowengine.runtime.services import Services

_HOMES: dict[str, tuple[str, ...]] = {
    # declaring kinds and registering them
    "flowengine.compile.spec": ("Field", "KindSpec", "MappingUse", "Role"),
    "flowengine.compile.registry": ("Registry",),
    "flowengine.compile.build": ("BuildContext", "BuildError"),
    # runtime nodes and what they handle
    "flowengine.core.nodes": (
        "AsyncNode",
        "Branch",
        "Call",
        "Emit",
        "Node",
        "Output",
        "Source",
        "SourceContext",
        "Transform",
    ),
    "flowengine.core.message": ("Exchange", "Message"),
    "flowengine.core.outcome": ("Outcome",),
    "flowengine.errors": (
        "BadMessage",
        "ConnectorError",
        "DeliveryFailed",
        "FlowengineError",
        "MessageError",
        "MessageTooLarge",
        "NodeFailed",
        "NotConnected",
        "ValidationFailed",
    ),
    # per-message templates and expressions, compiled at build time
    "flowengine.expressions.compiled": ("Expression", "Template"),
    # where a node that calls out may go (http.request's allow-list)
    "flowengine.compile.netallow": ("Entry", "Guard", "UrlRefused", "fixed_origin"),
    # reconnection schedules
    "flowengine.core.backoff": ("Backoff",),
    # what the engine shares with nodes, and its in-process HTTP server
    "flowengine.runtime.services": ("Services",),
    "flowengine.endpoints.routes": ("Handler", "HttpRoutes", "RouteConflict"),
    "flowengine.endpoints.asgi": (
        "Answer",
        "ClientGone",
        "answer",
        "error_answer",
        "header_dict",
        "json_answer",
        "read_body",
    ),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = [
    "Answer",
    "AsyncNode",
    "Backoff",
    "BadMessage",
    "Branch",
    "BuildContext",
    "BuildError",
    "Call",
    "ClientGone",
    "ConnectorError",
    "DeliveryFailed",
    "Emit",
    "Entry",
    "Exchange",
    "Expression",
    "Field",
    "FlowengineError",
    "Guard",
    "Handler",
    "HttpRoutes",
    "KindSpec",
    "MappingUse",
    "Message",
    "MessageError",
    "MessageTooLarge",
    "Node",
    "NodeFailed",
    "NotConnected",
    "Outcome",
    "Output",
    "Registry",
    "Role",
    "RouteConflict",
    "Services",
    "Source",
    "SourceContext",
    "Template",
    "Transform",
    "UrlRefused",
    "ValidationFailed",
    "answer",
    "error_answer",
    "fixed_origin",
    "header_dict",
    "json_answer",
    "read_body",
]


def __getattr__(name: str) -> Any:
    """Import the home of `name` on first use and keep the object here for the next lookups."""
    home = _HOME_OF.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
