"""`amqp.consume`: consume a RabbitMQ queue with manual acknowledgement.

Each delivery is handed to the flow with `ctx.submit`; it is acked only when
every path of the flow finished (`Outcome.ok`), and nacked otherwise: requeued
(after `requeue_delay`, so a message that always fails does not spin), or with
`requeue_on_failure: false` rejected to the queue's dead-letter exchange.
`prefetch` bounds the unacknowledged deliveries, and with them the messages in
flight: a slow flow slows the broker, not memory.

When the connection drops, acks of messages still in flight fail (their channel
is gone) and the broker redelivers them: at-least-once, with duplicates counted
in `attempt` (2 for a redelivery; quorum queues count exactly). After a
reconnect the queue, exchanges and bindings are declared again and consuming
resumes.
"""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial
from typing import Any

import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractIncomingMessage, AbstractQueue

from connectors.amqp.connection import URL_FIELD, AmqpConnection, NodeLog, connection_for, describe, resolve_url
from connectors.amqp.convert import attempt_of, to_message
from connectors.amqp.publish import EXCHANGE_TYPES
from flowengine.plugin import BuildContext, Field, KindSpec, Outcome, Role, Source, SourceContext

SETTLE_ERRORS = (aiormq.exceptions.AMQPError, aiormq.exceptions.ChannelInvalidStateError, ConnectionError)
CANCEL_CHECK = 2.0  # seconds between looks for a consumer the broker cancelled (see `_watch_consumer`)


class AmqpConsume(Source):
    def __init__(self, flow: str, name: str, url: str, queue: str, *, declare: bool, durable: bool, quorum: bool,
                 bindings: list[dict[str, str]], prefetch: int, consumer_tag: str | None,
                 dead_letter_exchange: str | None, dead_letter_routing_key: str | None,
                 requeue_on_failure: bool, requeue_delay: float, max_attempts: int | None = None) -> None:
        super().__init__(name, "amqp.consume")
        self.log = NodeLog(flow, name)
        self.url = url
        self.queue = queue
        self.declare = declare
        self.durable = durable
        self.quorum = quorum
        self.bindings = bindings
        self.prefetch = prefetch
        self.consumer_tag = consumer_tag
        self.dead_letter_exchange = dead_letter_exchange
        self.dead_letter_routing_key = dead_letter_routing_key
        self.requeue_on_failure = requeue_on_failure
        self.requeue_delay = requeue_delay
        self.max_attempts = max_attempts
        self.unsettled = 0
        """Deliveries whose ack/nack could not be sent (connection lost): the broker redelivers them."""
        self._conn: AmqpConnection | None = None
        self._ctx: SourceContext | None = None
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._tag: str | None = None
        self._in_flight = 0
        self._consumes = 0
        self._stopping = False
        self._paused = False
        self._watcher: asyncio.Task[None] | None = None

    # --- lifecycle ------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._channel is not None and not self._channel.is_closed

    async def start(self, ctx: SourceContext) -> None:
        self._ctx = ctx
        self._stopping = self._paused = False
        self._conn = connection_for(ctx.services, self.url)
        await self._conn.attach(self)
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch_consumer(), name=f"{self.log.label} consumer watch")
        if not self.requeue_on_failure and not self.dead_letter_exchange:
            self.log.warning("failed messages are rejected without requeue; unless queue '%s' has a dead-letter "
                             "exchange (by policy), the broker discards them", self.queue)

    async def stop(self) -> None:
        """Cancel the consumer: no new deliveries; in-flight ones still get acked."""
        self._stopping = True
        await self._cancel()

    async def pause(self) -> None:
        """Cancel the consumer but keep the channel: in-flight messages still get acked."""
        self._paused = True
        await self._cancel()

    async def resume(self, ctx: SourceContext) -> None:
        self._ctx = ctx
        self._paused = False
        if self.connected:
            await self._consume()
        elif self._conn is not None:
            self._conn.resetup(self)

    async def close(self) -> None:
        self._stopping = True
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
            self._watcher = None
        if self._conn is not None:
            await self._conn.detach(self)
        await self._drop_channel()

    async def setup(self, connection: AbstractConnection) -> None:
        await self._drop_channel()
        channel = await connection.channel(publisher_confirms=False)
        await channel.set_qos(prefetch_count=self.prefetch)
        queue = await self._declare(channel)
        for binding in self.bindings:
            await self._bind(channel, queue, binding)
        channel.close_callbacks.add(self._on_channel_close)
        self._channel, self._queue = channel, queue
        if not self._paused:
            await self._consume()

    async def _consume(self) -> None:
        assert self._queue is not None
        self._tag = await self._queue.consume(self._on_message, no_ack=False, consumer_tag=self.consumer_tag)
        self._consumes += 1
        again = " again" if self._consumes > 1 else ""
        self.log.info("consuming%s from queue '%s' (prefetch %d)", again, self.queue, self.prefetch)

    async def _cancel(self) -> None:
        if self._queue is not None and self._tag is not None and self.connected:
            with contextlib.suppress(*SETTLE_ERRORS, TimeoutError):
                await self._queue.cancel(self._tag, timeout=5)
        self._tag = None

    async def _watch_consumer(self) -> None:
        """Set up again when the broker cancelled our consumer (its queue was deleted, say).

        RabbitMQ announces that with `basic.cancel`, but aiormq only forgets the consumer
        without telling the client, so the flow would sit idle until the next reconnect.
        Setting up again declares the queue (with `declare: true`, the default) and consumes."""
        while True:
            await asyncio.sleep(CANCEL_CHECK)
            channel, tag, conn = self._channel, self._tag, self._conn
            if channel is None or tag is None or channel.is_closed or self._stopping or self._paused or conn is None:
                continue
            with contextlib.suppress(*SETTLE_ERRORS):
                consumers = (await channel.get_underlay_channel()).consumers  # type: ignore[attr-defined]
                if tag not in consumers and self._tag == tag and not (self._stopping or self._paused):
                    self.log.warning("the broker cancelled the consumer of queue '%s' (was it deleted?); "
                                     "setting up again", self.queue)
                    self._tag = None
                    conn.resetup(self)

    def lost(self, exc: BaseException | None) -> None:
        self._channel = None
        self.log.warning("connection lost; %d unacknowledged message(s) will be redelivered by the broker",
                         self._in_flight)

    def _on_channel_close(self, channel: Any, exc: BaseException | None = None) -> None:
        if channel is not self._channel or self._stopping or self._conn is None or not self._conn.is_up:
            return
        self.log.warning("channel closed by the broker (%s); consuming again", describe(exc))
        self._conn.resetup(self)

    async def _drop_channel(self) -> None:
        channel, self._channel = self._channel, None
        if channel is not None and not channel.is_closed:
            with contextlib.suppress(*SETTLE_ERRORS):
                await channel.close()

    # --- topology -------------------------------------------------------------------
    async def _declare(self, channel: AbstractChannel) -> AbstractQueue:
        if not self.declare:
            return await channel.declare_queue(self.queue, passive=True)
        arguments: dict[str, Any] = {}
        if self.quorum:
            arguments["x-queue-type"] = "quorum"
        if self.dead_letter_exchange:
            await channel.declare_exchange(self.dead_letter_exchange, passive=True)
            arguments["x-dead-letter-exchange"] = self.dead_letter_exchange
        if self.dead_letter_routing_key:
            arguments["x-dead-letter-routing-key"] = self.dead_letter_routing_key
        return await channel.declare_queue(self.queue, durable=self.durable, arguments=arguments or None)

    async def _bind(self, channel: AbstractChannel, queue: AbstractQueue, binding: dict[str, str]) -> None:
        name = binding["exchange"]
        passive = not self.declare or name.startswith("amq.")  # amq.* are the broker's own
        exchange = await channel.declare_exchange(name, binding.get("type", "topic"), durable=True, passive=passive)
        await queue.bind(exchange, binding.get("routing_key", "#"))

    # --- deliveries -----------------------------------------------------------------
    async def _on_message(self, incoming: AbstractIncomingMessage) -> None:
        """Called by aio-pika in its own task per delivery; prefetch bounds how many."""
        assert self._ctx is not None
        if self._stopping or self._paused:  # cancelled: let the broker hand it to a live consumer
            await self._send(incoming, "nack", requeue=True)
            return
        await self._ctx.submit(to_message(incoming, self.queue), partial(self._settle, incoming))
        self._in_flight += 1  # after submit: a delivery cancelled while waiting for a slot never counted

    async def _settle(self, incoming: AbstractIncomingMessage, outcome: Outcome) -> None:
        self._in_flight -= 1
        if outcome.ok:
            await self._send(incoming, "ack")
            return
        if self.max_attempts is not None and attempt_of(incoming) >= self.max_attempts:
            self.log.warning("message %s failed on delivery %d of %d: rejected to the dead-letter exchange",
                             incoming.message_id, attempt_of(incoming), self.max_attempts)
            await self._send(incoming, "nack", requeue=False)
            return
        if self.requeue_on_failure and self.requeue_delay and _channel_open(incoming):
            await asyncio.sleep(self.requeue_delay)
        await self._send(incoming, "nack", requeue=self.requeue_on_failure)

    async def _send(self, incoming: AbstractIncomingMessage, verb: str, **kwargs: bool) -> None:
        try:
            await getattr(incoming, verb)(**kwargs)
        except SETTLE_ERRORS as err:
            self.unsettled += 1
            self.log.info("%s of message %s not sent (%s); the broker redelivers it", verb, incoming.message_id,
                          describe(err))


def _channel_open(incoming: AbstractIncomingMessage) -> bool:
    try:
        return not incoming.channel.is_closed
    except aiormq.exceptions.ChannelInvalidStateError:  # aio-pika's way of saying "closed"
        return False


def build(ctx: BuildContext) -> AmqpConsume:
    opts = ctx.options
    if opts["quorum"] and not opts["durable"]:
        raise ctx.fail("quorum queues are always durable; remove `durable: false`", "durable")
    if opts.get("max_attempts") and not (opts["quorum"] and opts.get("dead_letter_exchange")):
        raise ctx.fail("max_attempts needs quorum: true (it counts deliveries exactly) and a dead_letter_exchange "
                       "(where the message goes after its last attempt)", "max_attempts")
    if opts["ordered"] and opts["prefetch"] != 1 and "prefetch" in ctx.option_spans:
        raise ctx.fail("ordered: true processes one message at a time; remove prefetch", "prefetch")
    for option in ("quorum", "dead_letter_exchange", "dead_letter_routing_key"):
        if not opts["declare"] and opts.get(option):
            raise ctx.fail(f"{option} only applies when the queue is declared here (declare: true)", option,
                           hint="with declare: false the queue's arguments are whatever it was created with")
    return AmqpConsume(
        ctx.flow, ctx.name, resolve_url(opts.get("url")), opts["queue"], declare=opts["declare"],
        durable=opts["durable"], quorum=opts["quorum"], bindings=opts.get("bindings", []),
        prefetch=1 if opts["ordered"] else opts["prefetch"],
        consumer_tag=opts.get("consumer_tag"), dead_letter_exchange=opts.get("dead_letter_exchange"),
        max_attempts=opts.get("max_attempts"),
        dead_letter_routing_key=opts.get("dead_letter_routing_key"),
        requeue_on_failure=opts["requeue_on_failure"], requeue_delay=float(opts["requeue_delay"]),
    )


_BINDING = {
    "type": "object",
    "properties": {
        "exchange": {"type": "string", "minLength": 1},
        "routing_key": {"type": "string", "default": "#"},
        "type": {"enum": EXCHANGE_TYPES, "default": "topic"},
    },
    "required": ["exchange"],
    "additionalProperties": False,
}

SPEC = KindSpec(
    name="amqp.consume",
    role=Role.SOURCE,
    external=True,
    summary="Consume a RabbitMQ queue; ack each message only after every path of the flow finished.",
    description=(
        "Manual acknowledgement: a message is acked when the flow succeeded (or its error route did), "
        "and nacked otherwise: requeued, or with `requeue_on_failure: false` dead-lettered through the "
        "queue's dead-letter exchange. `prefetch` bounds unacknowledged messages. AMQP properties become "
        "the message's id, content type, headers and `traceparent`; exchange, routing key and "
        "redelivery become `attributes` (`amqp.routing_key`, ...)."
    ),
    build=build,
    options={
        "url": URL_FIELD,
        "queue": Field({"type": "string", "minLength": 1}, "Queue to consume", required=True,
                       examples=("orders.in",)),
        "declare": Field({"type": "boolean"}, "Declare the queue and binding exchanges; false: they must exist "
                         "(passive declare, a missing queue fails the deploy)", default=True),
        "durable": Field({"type": "boolean"}, "Declare the queue durable (survives a broker restart)", default=True),
        "quorum": Field({"type": "boolean"}, "Declare a quorum queue (replicated; x-queue-type: quorum)",
                        default=False),
        "bindings": Field({"type": "array", "items": _BINDING},
                          "Bind the queue to exchanges: [{exchange, routing_key (default #), type (default topic)}]",
                          examples=([{"exchange": "orders", "routing_key": "orders.eu.*"}],)),
        "prefetch": Field({"type": "integer", "minimum": 1, "maximum": 65535},
                          "Unacknowledged messages the broker sends ahead; bounds messages in flight", default=64),
        "consumer_tag": Field({"type": "string", "minLength": 1}, "Consumer tag; the broker picks one when unset"),
        "dead_letter_exchange": Field({"type": "string", "minLength": 1},
                                      "Declare the queue with this dead-letter exchange (it must exist)"),
        "dead_letter_routing_key": Field({"type": "string"}, "Routing key for dead-lettered messages; "
                                         "default: their own"),
        "requeue_on_failure": Field({"type": "boolean"}, "Nack a failed message back to the queue; false: reject "
                                    "it to the dead-letter exchange", default=True),
        "ordered": Field({"type": "boolean"}, "Keep the queue's order: one message in flight at a time (prefetch 1); "
                         "a failed message is retried before the next", default=False),
        "max_attempts": Field({"type": "integer", "minimum": 1}, "Dead-letter a message after this many failed "
                              "deliveries (a poison message); needs quorum: true and a dead_letter_exchange"),
        "requeue_delay": Field({"type": "number", "minimum": 0}, "Seconds a failed message is held before it is "
                               "requeued, so a persistent failure does not spin", default=1),
    },
)
