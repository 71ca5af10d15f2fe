"""MQTT PUBLISH packets <-> Flowengine messages.

Inbound, MQTT 5 user properties become `headers` (a repeated name keeps its last
value), a `traceparent` user property the trace context, a `message-id` user
property the message id, the Content Type property the content type (the
trace is kept out of `headers`, as the AMQP connector does); topic, QoS,
retain and dup are `attributes` (`mqtt.topic`, ...). A dup delivery is attempt 2:
MQTT does not count redeliveries.

Both ways, QoS 0 and 1 PUBLISH packets (and their PUBACKs) are encoded and
decoded here rather than by paho: paho builds a `Properties` (about 20 µs), an
MQTTMessage with a threading.Condition and an MQTTMessageInfo per packet, and
reads each packet with three or more socket reads. The client frames inbound
packets itself and hands paho only the rest (CONNACK, SUBACK, PINGRESP, the
PUBREC/PUBCOMP of our QoS 2 publishes); a PUBLISH with a property read here
rarely (a subscription identifier) is decoded with paho's own decoder.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import paho.mqtt.client as paho

from connectors.mqtt.paho_private import paho_decode_publish
from flowengine.plugin import Message

TRACEPARENT = "traceparent"
MESSAGE_ID = "message-id"
_CONTENT_TYPE = b"\x03"
_USER_PROPERTY = b"\x26"


class Inbound:
    """One received PUBLISH: what the flow gets, and what its acknowledgement needs."""

    __slots__ = ("content_type", "dup", "mid", "payload", "qos", "retain", "topic", "user")

    def __init__(self, topic: str, payload: bytes, qos: int, retain: bool, dup: bool, mid: int,
                 user: list[tuple[str, str]] | None = None, content_type: str | None = None) -> None:
        self.topic = topic
        self.payload = payload
        self.qos = qos
        self.retain = retain
        self.dup = dup
        self.mid = mid
        self.user = user
        self.content_type = content_type


def decode_publish(header: int, packet: bytes | bytearray, v5: bool) -> Inbound:
    """Decode a PUBLISH packet (after its fixed header). The common properties are read here;
    a packet with another one goes through paho's slower, complete decoder. A malformed packet
    raises (ValueError, IndexError, struct.error or paho's MalformedPacket)."""
    return _decode_common(header, packet, v5) or _decode_with_paho(header, packet, v5)


def _decode_with_paho(header: int, packet: bytes | bytearray, v5: bool) -> Inbound:
    p = paho_decode_publish(header, packet, paho.MQTTv5 if v5 else paho.MQTTv311)
    props = p.properties
    return Inbound(p.topic.decode("utf-8"), bytes(p.payload), p.qos, p.retain, p.dup, p.mid,
                   getattr(props, "UserProperty", None), getattr(props, "ContentType", None))


def _decode_common(header: int, packet: bytes | bytearray, v5: bool) -> Inbound | None:
    end = len(packet)
    pos = 2 + int.from_bytes(packet[0:2], "big")
    topic = packet[2:pos].decode("utf-8")
    qos = (header >> 1) & 3
    mid = 0
    if qos:
        mid = int.from_bytes(packet[pos:pos + 2], "big")
        pos += 2
    user: list[tuple[str, str]] | None = None
    content_type = None
    if v5:
        size, pos = _read_varint(packet, pos)
        stop = pos + size
        while pos < stop:
            prop = packet[pos]
            pos += 1
            if prop == 0x26:  # user property
                key, pos = _read_utf8(packet, pos)
                value, pos = _read_utf8(packet, pos)
                if user is None:
                    user = []
                user.append((key, value))
            elif prop == 0x03:  # content type
                content_type, pos = _read_utf8(packet, pos)
            elif prop in (0x08, 0x09):  # response topic, correlation data: length-prefixed
                pos += 2 + int.from_bytes(packet[pos:pos + 2], "big")
            elif prop == 0x01:  # payload format indicator
                pos += 1
            elif prop == 0x02:  # message expiry interval
                pos += 4
            else:
                return None
        if pos != stop or stop > end:
            return None
    return Inbound(topic, bytes(packet[pos:]), qos, bool(header & 1), bool(header & 8), mid, user, content_type)


def _read_utf8(packet: bytes | bytearray, pos: int) -> tuple[str, int]:
    end = pos + 2 + int.from_bytes(packet[pos:pos + 2], "big")
    return packet[pos + 2:end].decode("utf-8"), end


def _read_varint(packet: bytes | bytearray, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = packet[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def to_message(p: Inbound) -> Message:
    headers = dict(p.user) if p.user else {}
    traceparent = headers.pop(TRACEPARENT, None) if headers else None
    return Message(
        p.payload,
        content_type=p.content_type,
        headers=headers,
        attributes={"mqtt.topic": p.topic, "mqtt.qos": p.qos, "mqtt.retain": p.retain, "mqtt.dup": p.dup},
        id=headers.get(MESSAGE_ID),
        traceparent=traceparent,
        attempt=2 if p.dup else 1,
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
        return content_type_only(content_type)
    return PackedProperties((_CONTENT_TYPE + _utf8(content_type) if content_type else b"") + body)


@lru_cache(maxsize=64)
def content_type_only(content_type: str | None) -> PackedProperties:
    """The properties of a message without headers or trace (most), encoded once per content type."""
    return PackedProperties(_CONTENT_TYPE + _utf8(content_type) if content_type else b"")


MAX_REMAINING_LENGTH = 268_435_455  # the largest packet MQTT can frame
_WILDCARDS = frozenset("+#")


@lru_cache(maxsize=1024)
def encoded_topic(topic: str) -> bytes:
    """A publish topic as PUBLISH carries it (length-prefixed UTF-8), checked as paho checks it."""
    if not topic or not _WILDCARDS.isdisjoint(topic):
        raise ValueError("a publish topic must be non-empty and cannot contain wildcards (+, #)")
    return _utf8(topic)


def encode_publish(topic: bytes, payload: bytes, qos: int, retain: bool, mid: int, properties: bytes) -> bytes:
    """A whole QoS 0/1 PUBLISH packet. `topic` from `encoded_topic`; `properties` already
    length-prefixed (MQTT 5: at least b"\\x00"; MQTT 3.1.1: b"")."""
    variable = topic + mid.to_bytes(2, "big") + properties if qos else topic + properties
    size = len(variable) + len(payload)
    if size > MAX_REMAINING_LENGTH:
        raise ValueError(f"a message of {len(payload)} bytes is over MQTT's packet size limit")
    return b"".join((_PUBLISH_HEADERS[qos << 1 | retain], _varint(size), variable, payload))


_PUBLISH_HEADERS = [bytes([0x30 | flags]) for flags in range(4)]  # indexed by qos << 1 | retain


def encode_ack(header: int, mid: int) -> bytes:
    """PUBACK (0x40), PUBREC (0x50) or PUBCOMP (0x70) with success: MQTT 5 lets the reason code
    be left out when it is 0, which makes them the same two bytes as in MQTT 3.1.1."""
    return bytes((header, 2, mid >> 8, mid & 0xFF))


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
