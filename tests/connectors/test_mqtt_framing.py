"""connectors/mqtt/sock.py frames packets out of whatever pieces TCP delivers; the client
turns a PUBACK's reason code into the publish's outcome."""

from __future__ import annotations

import asyncio
import socket

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from connectors.mqtt.client import MqttClient
from connectors.mqtt.convert import encode_ack, encode_publish, encoded_topic
from connectors.mqtt.settings import BrokerUrl, Settings
from connectors.mqtt.sock import BufferedSocket, MalformedStream
from flowengine.errors import DeliveryFailed
from tests.conftest import eventually
from tests.connectors.mqtt_helpers import uid

PACKETS = [encode_publish(encoded_topic("t/1"), b"p" * n, 1, False, n + 1, b"\x00") for n in (0, 5, 127, 128, 20_000)]
PACKETS.append(encode_ack(0x40, 9))


def receive_all(chunks: list[bytes]) -> list[tuple[int, bytes]]:
    """Send `chunks` through a real socket pair, reading after each, and frame what arrives."""
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    sock, got = BufferedSocket(ours), []
    try:
        for chunk in chunks:
            theirs.sendall(chunk)
            while sock.fill() and (packet := sock.next_packet()) is not None:
                got.append(packet)
                while (packet := sock.next_packet()) is not None:
                    got.append(packet)
        theirs.close()
        assert not sock.fill()  # end of file
        assert sock.pending() == 0
    finally:
        ours.close()
    return got


def expected() -> list[tuple[int, bytes]]:
    out = []
    for packet in PACKETS:
        at = 1
        while packet[at] & 0x80:
            at += 1
        out.append((packet[0], packet[at + 1:]))
    return out


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=len(b"".join(PACKETS)) - 1), max_size=12))
def test_packets_split_anywhere_come_out_whole(cuts: list[int]) -> None:
    stream = b"".join(PACKETS)
    points = sorted(set(cuts))
    chunks = [stream[a:b] for a, b in zip([0, *points], [*points, len(stream)], strict=True)]
    assert receive_all(chunks) == expected()


def test_a_length_of_five_bytes_is_malformed() -> None:
    ours, theirs = socket.socketpair()
    try:
        theirs.sendall(b"\x30\xff\xff\xff\xff\x01")
        sock = BufferedSocket(ours)
        assert sock.fill()
        with pytest.raises(MalformedStream):
            sock.next_packet()
    finally:
        ours.close()
        theirs.close()


class NoHandler:
    def message(self, packet: object) -> None: ...
    async def ready(self, client: MqttClient, session_present: bool) -> None: ...
    def lost(self) -> None: ...


@pytest.mark.parametrize(("reason", "ok"), [(b"", True), (b"\x10", True), (b"\x87", False)])
async def test_puback_reason_code_decides_the_outcome(reason: bytes, ok: bool) -> None:
    client = MqttClient(Settings(url=BrokerUrl.parse("mqtt://127.0.0.1:1883"), client_id=f"framing-test-{uid()}"), "test", NoHandler())
    waiting = asyncio.get_running_loop().create_future()
    client._confirms[7] = (waiting, 0.0)
    client._puback(b"\x00\x07" + reason)
    if ok:
        assert waiting.result() is None
    else:
        with pytest.raises(DeliveryFailed, match="refused the message: Not authorized"):
            waiting.result()


@pytest.mark.broker
@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_keepalive_pings_go_through_our_framing_and_publishes_still_confirm(protocol: str) -> None:
    """With a 2 s keepalive (1 s left too little slack for a busy event loop: paho dropped the link) paho sends PINGREQ while idle; the PINGRESP reaches paho through
    `PahoClient.handle`. If it did not, paho would drop the connection after a missed answer and
    the client would reconnect (a new generation)."""
    settings = Settings(url=BrokerUrl.parse("mqtt://127.0.0.1:1883"), client_id=f"fe-keepalive-{protocol}-{uid()}",
                        protocol=protocol, keepalive=1)
    client = MqttClient(settings, "keepalive test", NoHandler())
    await client.connect()
    pingresps = 0
    handle = client._paho.handle

    def counting(command: int, packet: bytes) -> None:
        nonlocal pingresps
        pingresps += command == 0xD0
        handle(command, packet)

    client._paho.handle = counting  # type: ignore[method-assign]  # counts, then hands over as before
    try:
        await eventually(lambda: pingresps >= 2, what="two PINGRESPs")
        assert client.connected and client.generation == 1
        await asyncio.wait_for(client.publish("fe/keepalive", b"x", 1, False, None, 5), 5)
    finally:
        await client.close()
