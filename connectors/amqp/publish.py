"""`amqp.publish`: publish the message to an exchange; succeed only on the broker's confirm.

The node has its own channel in publisher-confirm mode on the engine's shared
connection. `process` returns once the broker confirmed the message (for a
persistent message on a durable queue: written to disk). Anything else raises
`DeliveryFailed`, so the source message is not acknowledged:

    broker nack                          -> "the broker refused the message ..."
    returned as unroutable (mandatory)   -> "unroutable: no queue is bound to ..."
    exchange missing (channel closed)    -> the broker's NOT_FOUND text; channel reopened
    connection lost before the confirm   -> fails at once (the message may still arrive: a duplicate)
    connection down                      -> waits up to `connect_wait` s, then fails
    no confirm within `timeout` s        -> fails (the message may still arrive: a duplicate)
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, ExchangeType

from connectors.amqp.connection import URL_FIELD, AmqpConnection, NodeLog, connection_for, describe, resolve_url
from connectors.amqp.convert import to_amqp
from flowengine.build import BuildContext
from flowengine.errors import DeliveryFailed
from flowengine.expressions import Template
from flowengine.message import Message
from flowengine.nodes import AsyncNode
from flowengine.spec import Field, KindSpec, Role

EXCHANGE_TYPES = [t.value for t in (ExchangeType.DIRECT, ExchangeType.TOPIC, ExchangeType.FANOUT, ExchangeType.HEADERS)]


class AmqpPublish(AsyncNode):
    def __init__(self, flow: str, name: str, url: str, exchange: str, routing_key: Template, *,
                 declare_exchange: str | None, persistent: bool, mandatory: bool,
                 headers: dict[str, Template], content_type: str | None, timeout: float, connect_wait: float) -> None:
        super().__init__(name, "amqp.publish")
        self.log = NodeLog(flow, name)
        self.url = url
        self.exchange_name = exchange
        self.routing_key = routing_key
        self._constant_key = routing_key.source if routing_key.is_constant else None  # rendered once, not per message
        self.declare_exchange = declare_exchange
        self.persistent = persistent
        self.mandatory = mandatory
        self.headers = headers
        self.content_type = content_type
        self.timeout = timeout
        self.connect_wait = connect_wait
        self._conn: AmqpConnection | None = None
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._ready = asyncio.Event()
        # aiormq matches a returned message to its publish by message_id, so two
        # unconfirmed publishes with one id on a channel would be confused: serialise them.
        self._in_flight: dict[str, asyncio.Future[None]] = {}
        self._gone: asyncio.Future[None] | None = None
        self._confirmations: dict[Any, Any] = {}

    # --- lifecycle (called by the runtime and the connection) -------------------
    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    async def open(self, services: Any) -> None:
        self._conn = connection_for(services, self.url)
        await self._conn.attach(self)

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.detach(self)
        self._channel_gone()

    async def setup(self, connection: AbstractConnection) -> None:
        self._ready.clear()
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        if self.declare_exchange:
            await channel.declare_exchange(self.exchange_name, self.declare_exchange, durable=True)
        if self.exchange_name:
            if not self.declare_exchange:
                await self._check_exchange(connection)
            self._exchange = await channel.get_exchange(self.exchange_name, ensure=False)
        else:
            self._exchange = channel.default_exchange
        channel.close_callbacks.add(self._on_channel_close)
        self._channel = channel
        self._confirmations = (await channel.get_underlay_channel()).confirmations  # type: ignore[attr-defined]
        self._gone = asyncio.get_running_loop().create_future()
        self._ready.set()
        self.log.info("publishing to exchange '%s' (publisher confirms on)", self.exchange_name)

    async def _check_exchange(self, connection: AbstractConnection) -> None:
        """Warn at start about a missing exchange (a failed check closes its channel, so a
        throwaway one). Not an error: another service may declare it later."""
        probe = await connection.channel(publisher_confirms=False)
        try:
            await probe.declare_exchange(self.exchange_name, passive=True)
        except aiormq.exceptions.ChannelNotFoundEntity:
            self.log.warning("exchange '%s' does not exist; publishes fail until it is declared "
                             "(or set declare_exchange)", self.exchange_name)
        finally:
            if not probe.is_closed:
                await probe.close()

    def lost(self, exc: BaseException | None) -> None:
        self._channel_gone()
        self.log.warning("connection lost; publishes wait up to %gs for it, then fail", self.connect_wait)

    def _on_channel_close(self, channel: Any, exc: BaseException | None = None) -> None:
        if channel is not self._channel or self._conn is None:
            return
        self._channel_gone()
        if self._conn.is_up:
            self.log.warning("channel closed by the broker (%s); reopening", describe(exc))
            self._conn.resetup(self)

    # --- publishing ---------------------------------------------------------------
    async def process(self, msg: Message) -> Message:
        # Publishes sharing a message id queue up in arrival order, each waiting only for the
        # one before it (a loop re-checking the map would wake every waiter on every confirm).
        earlier = self._in_flight.get(msg.id)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._in_flight[msg.id] = done
        try:
            if earlier is not None:
                await asyncio.shield(earlier)
            await self._publish(msg)
        finally:
            if self._in_flight.get(msg.id) is done:
                del self._in_flight[msg.id]
            done.set_result(None)
        return msg

    async def _publish(self, msg: Message) -> None:
        exchange, gone = await self._exchange_ready()
        routing_key = self._constant_key if self._constant_key is not None else self.routing_key.render(msg)
        headers = {k: t.render(msg) for k, t in self.headers.items()}
        out = to_amqp(msg, headers=headers, content_type=self.content_type, persistent=self.persistent)
        where = f"exchange '{self.exchange_name}' with routing key '{routing_key}'"
        # Our own wait, not aiormq's: after a drop its publish can stay blocked on a full
        # write queue, past its own timeout; the source message must be let go at once.
        publishing = asyncio.ensure_future(exchange.publish(out, routing_key, mandatory=self.mandatory))
        try:
            await asyncio.wait((publishing, gone), timeout=self.timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            abandoned = not publishing.done()
            if abandoned:
                publishing.cancel()
                publishing.add_done_callback(_retrieve)
        if abandoned:
            why = "the connection was lost before the broker confirmed" if gone.done() else \
                f"no confirm within {self.timeout:g}s"
            raise DeliveryFailed(f"publish to {where} failed: {why}")
        try:
            publishing.result()
        except aiormq.exceptions.PublishError:
            raise DeliveryFailed(f"unroutable: no queue is bound to {where} (mandatory)") from None
        except aiormq.exceptions.DeliveryError:
            raise DeliveryFailed(f"the broker refused the message for {where} (nack)") from None
        except (aiormq.exceptions.AMQPError, aiormq.exceptions.ChannelInvalidStateError, ConnectionError) as err:
            raise DeliveryFailed(f"publish to {where} failed: {describe(err)}") from None

    async def _exchange_ready(self) -> tuple[AbstractExchange, asyncio.Future[None]]:
        """The exchange to publish to, and a future done when its channel is gone."""
        if not self._ready.is_set():
            try:
                await asyncio.wait_for(self._ready.wait(), self.connect_wait)
            except TimeoutError:
                raise DeliveryFailed(f"not connected to the broker (waited {self.connect_wait:g}s)") from None
        assert self._exchange is not None and self._gone is not None
        return self._exchange, self._gone

    def _channel_gone(self) -> None:
        self._ready.clear()
        if self._gone is not None and not self._gone.done():
            self._gone.set_result(None)
        # A publish that failed before its confirm leaves aiormq's confirmation future
        # orphaned; the channel's end fails it, and asyncio would log it as never retrieved.
        for confirmation in list(self._confirmations.values()):
            if isinstance(confirmation, asyncio.Future):
                confirmation.add_done_callback(_retrieve)


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Collect an abandoned publish's outcome so asyncio does not report it as never retrieved."""
    if not task.cancelled():
        task.exception()


def build(ctx: BuildContext) -> AmqpPublish:
    opts = ctx.options
    if opts.get("declare_exchange") and not opts["exchange"]:
        raise ctx.fail("declare_exchange needs a named exchange; the default exchange (\"\") always exists",
                       "declare_exchange")
    headers = {k: ctx.template(str(v), ctx.span_of("headers")) for k, v in opts.get("headers", {}).items()}
    return AmqpPublish(
        ctx.flow, ctx.name, resolve_url(opts.get("url")), opts["exchange"], ctx.option_template("routing_key"),
        declare_exchange=opts.get("declare_exchange"), persistent=opts["persistent"], mandatory=opts["mandatory"],
        headers=headers, content_type=opts.get("content_type"), timeout=float(opts["timeout"]),
        connect_wait=float(opts["connect_wait"]),
    )


SPEC = KindSpec(
    name="amqp.publish",
    role=Role.SINK,
    summary="Publish to a RabbitMQ exchange; succeeds only when the broker confirmed the message.",
    description=(
        "Publisher confirms are always on: the node returns once the broker has taken responsibility "
        "for the message. A nack, an unroutable message (with `mandatory`), a missing exchange or a lost "
        "connection fails the message with `delivery_failed`, so its source is not acknowledged. The "
        "message id, content type, headers and `traceparent` travel as AMQP properties and headers."
    ),
    build=build,
    options={
        "url": URL_FIELD,
        "exchange": Field({"type": "string"}, "Exchange to publish to; \"\" is the default exchange "
                          "(the routing key is then a queue name)", default="", examples=("orders",)),
        "routing_key": Field({"type": "string"}, "Routing key; a template, e.g. orders.{{ body.region }}",
                             default="", template=True, examples=("orders.{{ body.region }}",)),
        "declare_exchange": Field({"enum": EXCHANGE_TYPES},
                                  "Declare the exchange (durable) with this type on connect; unset: it must exist"),
        "persistent": Field({"type": "boolean"}, "Delivery mode 2: the broker writes the message to disk",
                            default=True),
        "mandatory": Field({"type": "boolean"}, "A message no queue is bound for fails instead of vanishing",
                           default=True),
        "headers": Field({"type": "object", "additionalProperties": {"type": "string"}},
                         "Extra AMQP headers; values are templates", template=True),
        "content_type": Field({"type": "string"}, "Content type property; defaults to the message's"),
        "timeout": Field({"type": "number", "exclusiveMinimum": 0}, "Seconds to wait for the broker's confirm",
                         default=30),
        "connect_wait": Field({"type": "number", "minimum": 0},
                              "While the connection is down, seconds a publish waits for it before failing",
                              default=5),
    },
)

