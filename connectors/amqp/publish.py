"""`amqp.publish`: publish the message to an exchange; succeed only on the broker's confirm.

The node has its own channel in publisher-confirm mode on the engine's shared
connection (more, "lanes", when publishes share a message id: see `_Lane`).
`process` returns once the broker confirmed the message (for a
persistent message on a durable queue: written to disk). Anything else raises
`DeliveryFailed`, so the source message is not acknowledged:

    broker nack                          -> "the broker refused the message ..."
    returned as unroutable (mandatory)   -> "unroutable: no queue is bound to ..."
    exchange missing (channel closed)    -> the broker's NOT_FOUND text; channel reopened
    channel gone before the confirm      -> fails at once (the message may still arrive: a duplicate);
      (connection lost, or the broker closed one of the node's channels: all are reopened)
    connection down                      -> waits up to `connect_wait` s, then fails
    no confirm within `timeout` s        -> fails (the message may still arrive: a duplicate)
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange, ExchangeType

from connectors.amqp.connection import URL_FIELD, AmqpConnection, NodeLog, connection_for, describe, resolve_url
from connectors.amqp.convert import to_amqp
from flowengine.plugin import (
    AsyncNode,
    BuildContext,
    DeliveryFailed,
    Field,
    KindSpec,
    Message,
    Role,
    Services,
    Template,
)

# Channels one node may open so that publishes sharing a message id need not wait for each
# other's confirm (see `_Lane`). Only such publishes open more than the first.
MAX_LANES = 32

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
        self._connection: AbstractConnection | None = None
        self._lanes: list[_Lane] = []
        self._opening = 0
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}
        self._ready = asyncio.Event()
        self._gone: asyncio.Future[None] | None = None

    # --- lifecycle (called by the runtime and the connection) -------------------
    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    async def open(self, services: Services) -> None:
        self._conn = connection_for(services, self.url)
        await self._conn.attach(self)

    async def close(self) -> None:
        lanes, self._lanes = self._lanes, []
        self._channel_gone(lanes)
        for lane in lanes:  # on a connection other nodes keep using, our channels must not linger
            with contextlib.suppress(Exception):
                await lane.channel.close()
        if self._conn is not None:
            await self._conn.detach(self)

    async def setup(self, connection: AbstractConnection) -> None:
        self._ready.clear()
        stale, self._lanes = self._lanes, []
        for lane in stale:
            if not lane.channel.is_closed:
                with contextlib.suppress(Exception):
                    await lane.channel.close()
        lane = await self._open_lane(connection)
        if self.declare_exchange:
            await lane.channel.declare_exchange(self.exchange_name, self.declare_exchange, durable=True)
        elif self.exchange_name:
            await self._check_exchange(connection)
        self._lanes = [lane]
        self._connection = connection
        self._gone = asyncio.get_running_loop().create_future()
        self._ready.set()
        self.log.info("publishing to exchange '%s' (publisher confirms on)", self.exchange_name)

    async def _open_lane(self, connection: AbstractConnection) -> _Lane:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange(self.exchange_name, ensure=False) if self.exchange_name \
            else channel.default_exchange
        channel.close_callbacks.add(self._on_channel_close)
        confirmations = (await channel.get_underlay_channel()).confirmations  # type: ignore[attr-defined]
        return _Lane(channel, exchange, confirmations)

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
        lanes, self._lanes = self._lanes, []
        self._channel_gone(lanes)
        self.log.warning("connection lost; publishes wait up to %gs for it, then fail", self.connect_wait)

    def _on_channel_close(self, channel: Any, exc: BaseException | None = None) -> None:
        if self._conn is None or not any(lane.channel is channel for lane in self._lanes):
            return  # a lane we closed ourselves, or one of an earlier connection
        lanes, self._lanes = self._lanes, []
        self._channel_gone(lanes)
        if self._conn.is_up:
            self.log.warning("channel closed by the broker (%s); reopening", describe(exc))
            self._conn.resetup(self)

    # --- publishing ---------------------------------------------------------------
    async def process(self, msg: Message) -> Message:
        lane = await self._lane_for(msg.id)
        try:
            await self._publish(lane, msg)
        finally:
            self._release(lane, msg.id)
        return msg

    async def _lane_for(self, message_id: str) -> _Lane:
        """A lane with no unconfirmed publish of `message_id`, marked busy with it.

        Another lane is opened when every open one is busy with this id (a producer that
        reuses one message id for everything would otherwise get one confirm round trip
        per message); past MAX_LANES the publish waits its turn for this id, in order."""
        while True:
            gone = await self._wait_ready()
            for lane in self._lanes:
                if message_id not in lane.busy:
                    lane.busy.add(message_id)
                    return lane
            if len(self._lanes) + self._opening < MAX_LANES:
                await self._open_extra_lane(gone)
                continue
            turn = asyncio.get_running_loop().create_future()
            queue = self._waiting.setdefault(message_id, deque())
            queue.append(turn)
            try:
                await turn
            finally:
                if not turn.done():  # cancelled while waiting
                    queue.remove(turn)
                if not queue and self._waiting.get(message_id) is queue:
                    del self._waiting[message_id]

    async def _open_extra_lane(self, gone: asyncio.Future[None]) -> None:
        assert self._connection is not None
        self._opening += 1
        try:
            lane = await self._open_lane(self._connection)
        except (aiormq.exceptions.AMQPError, ConnectionError, RuntimeError) as err:
            raise DeliveryFailed(f"could not open another channel to publish on: {describe(err)}") from None
        finally:
            self._opening -= 1
        if gone.done():  # the connection or a channel went while this one opened
            with contextlib.suppress(Exception):
                await lane.channel.close()
        else:
            self._lanes.append(lane)

    def _release(self, lane: _Lane, message_id: str) -> None:
        """Free `message_id` on `lane` and give the next publish waiting for that id its turn."""
        lane.busy.discard(message_id)
        queue = self._waiting.get(message_id)
        while queue:
            turn = queue.popleft()
            if not turn.done():
                turn.set_result(None)
                break

    async def _publish(self, lane: _Lane, msg: Message) -> None:
        exchange, gone = lane.exchange, self._gone
        assert gone is not None
        routing_key = self._constant_key if self._constant_key is not None else self.routing_key.render(msg)
        headers = {k: t.render(msg) for k, t in self.headers.items()}
        out = to_amqp(msg, headers=headers, content_type=self.content_type, persistent=self.persistent)
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
            if gone.done():
                why = "its channel closed before the broker confirmed (connection lost, or closed by the broker)"
            else:
                why = f"no confirm within {self.timeout:g}s"
            raise DeliveryFailed(f"publish to {self._where(routing_key)} failed: {why}")
        try:
            publishing.result()
        except aiormq.exceptions.PublishError:
            raise DeliveryFailed(f"unroutable: no queue is bound to {self._where(routing_key)} (mandatory)") from None
        except aiormq.exceptions.DeliveryError:
            raise DeliveryFailed(f"the broker refused the message for {self._where(routing_key)} (nack)") from None
        except (aiormq.exceptions.AMQPError, aiormq.exceptions.ChannelInvalidStateError, ConnectionError) as err:
            raise DeliveryFailed(f"publish to {self._where(routing_key)} failed: {describe(err)}") from None

    def _where(self, routing_key: str) -> str:
        """Where a publish went, for its error (formatted only when there is one)."""
        return f"exchange '{self.exchange_name}' with routing key '{routing_key}'"

    async def _wait_ready(self) -> asyncio.Future[None]:
        """Wait up to `connect_wait` for the connection; the future done when its lanes are gone."""
        if not self._ready.is_set():
            try:
                await asyncio.wait_for(self._ready.wait(), self.connect_wait)
            except TimeoutError:
                raise DeliveryFailed(f"not connected to the broker (waited {self.connect_wait:g}s)") from None
        assert self._gone is not None
        return self._gone

    def _channel_gone(self, lanes: list[_Lane]) -> None:
        self._ready.clear()
        if self._gone is not None and not self._gone.done():
            self._gone.set_result(None)
        # A publish that failed before its confirm leaves aiormq's confirmation future
        # orphaned; the channel's end fails it, and asyncio would log it as never retrieved.
        for lane in lanes:
            for confirmation in list(lane.confirmations.values()):
                if isinstance(confirmation, asyncio.Future):
                    confirmation.add_done_callback(_retrieve)


@dataclass(eq=False)
class _Lane:
    """One confirm-mode channel of the node.

    aiormq matches a returned (unroutable) message to its publish by message id, per channel:
    two unconfirmed publishes with one id on a channel would be confused, and a return could
    fail the wrong one while the unroutable message counted as delivered. So a lane carries at
    most one unconfirmed publish per message id (`busy`)."""

    channel: AbstractChannel
    exchange: AbstractExchange
    confirmations: dict[Any, Any]
    busy: set[str] = field(default_factory=set)


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
    external=True,
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

