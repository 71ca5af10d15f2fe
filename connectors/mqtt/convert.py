"""MQTT PUBLISH packets <-> Flowengine messages.

Inbound, MQTT 5 user properties become `headers` (a repeated name keeps its last
value), a `traceparent` user property the trace context, a `message-id` user
property the message id, the Content Type property the content type (the
trace is kept out of `headers`, as the AMQP connector does); topic, QoS,
retain and dup are `attributes` (`mqtt.topic`, ...). A dup delivery is attempt 2:
MQTT does not count redeliveries.

Outbound properties are encoded here rather than with paho's `Properties`, whose
generic packing costs about 25 µs a message; paho only ever calls `pack()`.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import paho.mqtt.client as paho

from flowengine.message import Message

TRACEPARENT = "traceparent"
MESSAGE_ID = "message-id"
_CONTENT_TYPE = b"\x03"
_USER_PROPERTY = b"\x26"


def to_message(m: paho.MQTTMessage) -> Message:
    headers: dict[str, str] = {}
    content_type = None
    props = m.properties
    if props is not None:
        pairs = getattr(props, "UserProperty", None)
        if pairs:
            headers = dict(pairs)
        content_type = getattr(props, "ContentType", None)
    traceparent = headers.pop(TRACEPARENT, None) if headers else None
    return Message(
        m.payload,
        content_type=content_type,
        headers=headers,
        attributes={"mqtt.topic": m.topic, "mqtt.qos": m.qos, "mqtt.retain": bool(m.retain), "mqtt.dup": bool(m.dup)},
        id=headers.get(MESSAGE_ID),
        traceparent=traceparent,
        attempt=2 if m.dup else 1,
    )


class PackedProperties:
    """MQTT 5 PUBLISH properties, already encoded; stands in for paho's `Properties`."""

    __slots__ = ("packed",)

    def __init__(self, body: bytes) -> None:
        self.packed = _varint(len(body)) + body

    def pack(self) -> bytes:
        return self.packed

    def __str__(self) -> str:  # paho's debug log prints properties
        return f"[{len(self.packed)} bytes of properties]"


def publish_properties(content_type: str | None, user: Iterable[tuple[str, str]]) -> PackedProperties:
    """Content type and user properties (in order). ValueError when a string is over 65535 bytes."""
    body = b"".join(_USER_PROPERTY + _utf8(k) + _utf8(v) for k, v in user)
    if not body:
        return _content_type_only(content_type)
    return PackedProperties((_CONTENT_TYPE + _utf8(content_type) if content_type else b"") + body)


@lru_cache(maxsize=64)
def _content_type_only(content_type: str | None) -> PackedProperties:
    return PackedProperties(_CONTENT_TYPE + _utf8(content_type) if content_type else b"")


def _utf8(text: str) -> bytes:
    data = text.encode("utf-8")
    if len(data) > 0xFFFF:
        raise ValueError(f"an MQTT property is limited to 65535 bytes, got {len(data)}: {text[:40]!r}...")
    return len(data).to_bytes(2, "big") + data


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)
