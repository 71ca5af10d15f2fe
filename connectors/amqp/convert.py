"""Between AMQP messages and Flowengine messages, both ways.

    AMQP property / field          Message
    message_id                     id (a new one when absent)
    content_type                   content_type
    headers (values as text)       headers
    headers["traceparent"]         traceparent (kept out of `headers`)
    exchange, routing_key,         attributes "amqp.exchange", "amqp.routing_key",
    redelivered, queue, ...        "amqp.redelivered", "amqp.queue", ...
    redelivered / x-delivery-count attempt (2 when redelivered; count + 1 on quorum queues)

On the way out, the message's headers are carried except the ones an AMQP
property already expresses or that only make sense on an HTTP hop.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage, DeliveryMode

from flowengine.plugin import Message

TRACEPARENT = "traceparent"

# Headers not copied into AMQP headers: expressed by properties, or HTTP hop-by-hop.
NOT_CARRIED = frozenset({
    "content-type", "content-length", "traceparent", "host", "connection", "transfer-encoding",
    "keep-alive", "te", "trailer", "upgrade", "expect",
})


def header_text(value: Any) -> str:
    """AMQP header values are typed (ints, bytes, tables); flows see text."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def attempt_of(incoming: AbstractIncomingMessage) -> int:
    """Which delivery this is: quorum queues count them, classic queues only flag a redelivery."""
    count = (incoming.headers or {}).get("x-delivery-count")
    if isinstance(count, int):
        return count + 1
    return 2 if incoming.redelivered else 1


def to_message(incoming: AbstractIncomingMessage, queue: str) -> Message:
    headers = {k: header_text(v) for k, v in (incoming.headers or {}).items()}
    traceparent = headers.pop(TRACEPARENT, None)
    attributes: dict[str, Any] = {
        "amqp.queue": queue,
        "amqp.exchange": incoming.exchange or "",
        "amqp.routing_key": incoming.routing_key or "",
        "amqp.redelivered": bool(incoming.redelivered),
        "amqp.delivery_tag": incoming.delivery_tag,
    }
    for name in ("correlation_id", "reply_to", "type", "app_id"):
        value = getattr(incoming, name, None)
        if value:
            attributes[f"amqp.{name}"] = value
    return Message(
        incoming.body,
        content_type=incoming.content_type or "application/octet-stream",
        headers=headers,
        attributes=attributes,
        id=incoming.message_id or None,
        traceparent=traceparent,
        attempt=attempt_of(incoming),
    )


def to_amqp(msg: Message, *, headers: dict[str, str], content_type: str | None, persistent: bool) -> aio_pika.Message:
    """The AMQP message for `msg`; `headers` (already rendered) override carried ones."""
    out: dict[str, Any] = {k: v for k, v in msg.headers.items() if k.lower() not in NOT_CARRIED}
    out.update(headers)
    if msg.traceparent:
        out[TRACEPARENT] = msg.traceparent
    return aio_pika.Message(
        msg.body,
        headers=out,
        content_type=content_type or msg.content_type,
        message_id=msg.id,
        delivery_mode=DeliveryMode.PERSISTENT if persistent else DeliveryMode.NOT_PERSISTENT,
    )
