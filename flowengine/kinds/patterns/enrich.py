"""`enrich`: ask another node (an `http.request`, any lookup) and merge its reply into the message.

The lookup node gets the message as it is (its URL template can read the body),
and the mapping block runs on the lookup's reply: `body` is the reply. Each field
the mapping makes is set on the original JSON body (dotted names nest, objects
merge), so `{ customer.tier: body.tier }` adds one field and keeps the rest.
The lookup runs under its own retry policy (`retry:` on the lookup node); if it
still fails, the enrich fails with its error and takes the error route.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flowengine.compile.build import BuildContext
from flowengine.compile.spec import Field, KindSpec, MappingUse, Role
from flowengine.core.message import Message
from flowengine.core.nodes import AsyncNode, Call, Transform
from flowengine.errors import BadMessage, NodeFailed
from flowengine.kinds import json_map


class Enrich(AsyncNode):
    def __init__(self, name: str, via: str, mapper: Transform) -> None:
        super().__init__(name, "enrich")
        self.via = via
        self.mapper = mapper
        self._call: Call | None = None

    def bind(self, call: Call) -> None:
        self._call = call

    async def process(self, msg: Message) -> Message:
        assert self._call is not None, "enrich used before bind()"
        original = msg.json
        if not isinstance(original, dict):
            raise BadMessage(f"enrich merges into a JSON object; the body is {type(original).__name__}")
        reply = await self._call(self.via, msg.copy())
        if not isinstance(reply, Message):
            raise NodeFailed(f"lookup '{self.via}' gave no reply to merge")
        fields = self.mapper.process(reply)
        assert isinstance(fields, Message)
        return msg.derive(json=merge(original, fields.json))


def merge(into: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """`into` updated with `fields`, objects merged key by key (neither argument is changed)."""
    out = dict(into)
    for key, value in fields.items():
        current = out.get(key)
        out[key] = merge(current, value) if isinstance(current, dict) and isinstance(value, dict) else value
    return out


def build(ctx: BuildContext) -> Enrich:
    return Enrich(ctx.name, ctx.options["via"], json_map.build(dataclasses.replace(ctx, options={"mode": "replace"})))


SPEC = KindSpec(
    name="enrich",
    role=Role.TRANSFORM,
    summary="Call a lookup node (e.g. http.request) and merge fields of its reply into the JSON body.",
    description=(
        "In the mapping block `body` is the lookup's reply; each field is set on the original body (dotted "
        "names nest, objects merge). The lookup node gets the original message and runs under its own "
        "`retry` policy; when it fails, the enrich fails with its error."
    ),
    build=build,
    mapping=MappingUse.REQUIRED,
    calls=lambda options: [("via", options["via"])],
    options={
        "via": Field(
            {"type": "string", "minLength": 1},
            "The node to ask: an http.request sink, or any node whose output is the reply",
            required=True,
            examples=("crm",),
        ),
    },
)
