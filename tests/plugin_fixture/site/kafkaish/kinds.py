"""The kinds of the pretend `kafkaish` transport. There is no broker: a source that starts
and a sink that sends both fail, so a flow test passes only when the engine swapped them out."""

from __future__ import annotations

from flowengine.plugin import (
    AsyncNode,
    BuildContext,
    DeliveryFailed,
    Field,
    KindSpec,
    Message,
    NotConnected,
    Role,
    Source,
    SourceContext,
)

_TOPIC = Field({"type": "string", "minLength": 1}, "Topic to read from or write to", required=True)
_UNREACHABLE = "kafkaish is a test fixture: there is no broker to reach"


class KafkaishSource(Source):
    async def start(self, ctx: SourceContext) -> None:
        raise NotConnected(_UNREACHABLE)


class KafkaishProduce(AsyncNode):
    async def process(self, msg: Message) -> Message:
        raise DeliveryFailed(_UNREACHABLE, node=self.name)


def _source(kind: str) -> KindSpec:
    return KindSpec(
        name=kind,
        role=Role.SOURCE,
        summary=f"Receive records from a kafkaish topic ({kind}: the test fixture's source).",
        build=lambda ctx: KafkaishSource(ctx.name, kind),
        options={"topic": _TOPIC},
        external=True,
        answers_sender=kind == "kafkaish.rpc",
    )


def _build_produce(ctx: BuildContext) -> KafkaishProduce:
    return KafkaishProduce(ctx.name, "kafkaish.produce")


CONSUME = _source("kafkaish.consume")
"""A broker-like source: a failure is redelivered, so W205 asks its sinks for an error route."""

RPC = _source("kafkaish.rpc")
"""A source whose sender waits for the verdict (`answers_sender`): W205 leaves its paths alone."""

PRODUCE = KindSpec(
    name="kafkaish.produce",
    role=Role.SINK,
    summary="Write each message as a record to a kafkaish topic (the test fixture's sink).",
    build=_build_produce,
    options={"topic": _TOPIC},
    external=True,
)
