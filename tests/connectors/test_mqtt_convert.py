"""connectors/mqtt/convert.py: our PUBLISH decoding and property encoding agree with paho's."""

from __future__ import annotations

import pytest
from paho.mqtt.client import MQTTv5, MQTTv311
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from connectors.mqtt.convert import (
    Inbound,
    decode_publish,
    encode_ack,
    encode_publish,
    encoded_topic,
    publish_properties,
    to_message,
)
from connectors.mqtt.paho_private import paho_decode_publish

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def publish_packet(topic: str, payload: bytes, *, qos: int = 1, mid: int = 7, props: Properties | None = None,
                   v5: bool = True) -> bytes:
    """The variable header and payload of a PUBLISH (what follows the fixed header)."""
    out = len(topic.encode()).to_bytes(2, "big") + topic.encode()
    if qos:
        out += mid.to_bytes(2, "big")
    if v5:
        out += props.pack() if props is not None else b"\x00"
    return out + payload


def all_publish_properties() -> Properties:
    props = Properties(PacketTypes.PUBLISH)
    props.PayloadFormatIndicator = 1
    props.MessageExpiryInterval = 60
    props.ContentType = "application/json"
    props.ResponseTopic = "replies/1"
    props.CorrelationData = b"\x00\x01"
    props.UserProperty = [("x-tenant", "acme"), ("traceparent", TRACEPARENT), ("x-tenant", "again")]
    return props


def test_decode_publish_matches_paho() -> None:
    data = publish_packet("sensors/é/1", b'{"t": 1}', props=all_publish_properties())
    header = 0x30 | 1 << 1 | 0x08 | 0x01  # PUBLISH, QoS 1, dup, retain
    ours = decode_publish(header, data, v5=True)
    theirs = paho_decode_publish(header, data, MQTTv5)
    assert ours is not None
    assert (ours.topic, ours.payload, ours.qos, ours.retain, ours.dup, ours.mid) == (
        theirs.topic.decode(), theirs.payload, theirs.qos, theirs.retain, theirs.dup, theirs.mid)
    assert ours.user == theirs.properties.UserProperty
    assert ours.content_type == theirs.properties.ContentType


@pytest.mark.parametrize("qos", [0, 1])
def test_decode_publish_mqtt_3_1_1_and_qos_0(qos: int) -> None:
    data = publish_packet("a/b", b"raw", qos=qos, v5=False)
    inbound = decode_publish(0x30 | qos << 1, data, v5=False)
    assert inbound is not None
    assert (inbound.topic, inbound.payload, inbound.qos, inbound.mid, inbound.user) == ("a/b", b"raw", qos,
                                                                                         7 if qos else 0, None)
    assert paho_decode_publish(0x30 | qos << 1, data, MQTTv311).payload == b"raw"


def test_a_property_we_do_not_read_ourselves_is_decoded_by_paho() -> None:
    props = Properties(PacketTypes.PUBLISH)
    props.SubscriptionIdentifier = 300
    props.ContentType = "text/plain"
    inbound = decode_publish(0x34, publish_packet("a/b", b"x", qos=2, props=props), v5=True)
    assert (inbound.topic, inbound.payload, inbound.qos, inbound.mid, inbound.content_type) == (
        "a/b", b"x", 2, 7, "text/plain")


def test_a_malformed_publish_raises() -> None:
    with pytest.raises((ValueError, IndexError)):
        decode_publish(0x32, b"\x00\x09ab", v5=True)


def test_publish_properties_are_what_paho_reads() -> None:
    packed = publish_properties("application/json", [("x-tenant", "acme"), ("traceparent", TRACEPARENT)]).pack()
    props = Properties(PacketTypes.PUBLISH)
    _, length = props.unpack(packed)
    assert length == len(packed)
    assert props.ContentType == "application/json"
    assert props.UserProperty == [("x-tenant", "acme"), ("traceparent", TRACEPARENT)]
    assert publish_properties(None, []).pack() == b"\x00"


def test_a_long_property_length_uses_several_bytes() -> None:
    packed = publish_properties("text/plain", [("k", "v" * 300)]).pack()
    props = Properties(PacketTypes.PUBLISH)
    _, length = props.unpack(packed)
    assert length == len(packed) and props.UserProperty == [("k", "v" * 300)]


def test_a_property_over_64_kib_is_refused() -> None:
    with pytest.raises(ValueError, match="limited to 65535 bytes"):
        publish_properties(None, [("k", "v" * 70_000)])


def test_to_message_maps_properties_and_attributes() -> None:
    inbound = Inbound("sensors/1", b'{"t": 1}', 1, False, True, 9,
                      [("x-tenant", "acme"), ("traceparent", TRACEPARENT), ("message-id", "m-1")], "application/json")
    msg = to_message(inbound)
    assert msg.json == {"t": 1}
    assert msg.content_type == "application/json"
    assert msg.headers == {"x-tenant": "acme", "message-id": "m-1"}
    assert msg.traceparent == TRACEPARENT
    assert msg.id == "m-1"
    assert msg.attempt == 2  # dup: a redelivery
    assert msg.attributes == {"mqtt.topic": "sensors/1", "mqtt.qos": 1, "mqtt.retain": False, "mqtt.dup": True}


def split_fixed_header(packet: bytes) -> tuple[int, bytes]:
    """(header byte, what follows the remaining length), checking the length paho would read."""
    size, shift, at = 0, 0, 1
    while True:
        byte = packet[at]
        at += 1
        size |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
    assert len(packet) - at == size
    return packet[0], packet[at:]


@pytest.mark.parametrize(("qos", "retain", "v5", "size"), [(0, False, True, 10), (1, True, True, 20_000),
                                                          (1, False, False, 200), (0, True, False, 3)])
def test_encode_publish_is_what_paho_decodes(qos: int, retain: bool, v5: bool, size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    properties = publish_properties("application/json", [("x-tenant", "acme")]).pack() if v5 else b""
    header, rest = split_fixed_header(encode_publish(encoded_topic("sensors/é/1"), payload, qos, retain, 513, properties))
    theirs = paho_decode_publish(header, rest, MQTTv5 if v5 else MQTTv311)
    assert (theirs.topic, theirs.payload, theirs.qos, theirs.retain, theirs.mid) == (
        "sensors/é/1".encode(), payload, qos, retain, 513 if qos else 0)
    if v5:
        assert theirs.properties.UserProperty == [("x-tenant", "acme")]


@pytest.mark.parametrize("topic", ["", "a/+/b", "a/#"])
def test_a_topic_paho_would_refuse_is_refused(topic: str) -> None:
    with pytest.raises(ValueError, match="wildcards"):
        encoded_topic(topic)


def test_acknowledgement_packets() -> None:
    assert encode_ack(0x40, 0x1234) == b"\x40\x02\x12\x34"  # PUBACK
    assert encode_ack(0x50, 7) == b"\x50\x02\x00\x07"  # PUBREC
