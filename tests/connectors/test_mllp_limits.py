"""MLLP under hostile input (issue 19): linear decoding, no sender holding up others, limits that close.

The decoder's work is counted (`examined`), not timed. The socket tests use real
connections to a deployed `mllp.listen`; where a test needs a wait it polls the
socket with a generous deadline.
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from connectors.memory import hub_of
from connectors.mllp.framing import END, FrameDecoder, Oversized, Unframed, frame
from flowengine.runtime.engine import Engine
from tests.conftest import compile_ok
from tests.connectors.test_mllp import FIELDS, client, listening, oru

MIB = 1 << 20
FLOODS = {
    "start blocks": b"\x0b",
    "start blocks and a byte": b"\x0bA",
    "start and 0x1C": b"\x0b\x1c",
    "0x1C inside a frame": b"\x1cA",
    "0x1C alone": b"\x1c",
    "abandoned frames of 15 bytes": b"\x0b" + b"x" * 15,
}


# --- the decoder ------------------------------------------------------------------------------
@pytest.mark.parametrize("unit", FLOODS.values(), ids=FLOODS.keys())
def test_a_1_mib_flood_is_examined_once_per_byte(unit: bytes) -> None:
    flood = b"\x0b" + unit * (MIB // len(unit))
    decoder = FrameDecoder(2 * MIB, 2 * MIB)
    for at in range(0, len(flood), 8192):
        assert decoder.feed(flood[at : at + 8192]) == []
    assert decoder.examined == len(flood)
    assert decoder.feed(frame(b"after")) == [b"after"]
    assert decoder.abandoned == flood.count(b"\x0b")


def test_frames_between_floods_are_all_found() -> None:
    data = b"\x0b\x0bjunk" + frame(b"a\x1cb") + b"\x0b\x1c\x0bz" + frame(b"c") + b"noise" + frame(b"d")
    decoder = FrameDecoder(100)
    assert [f for i in range(len(data)) for f in decoder.feed(data[i : i + 1])] == [b"a\x1cb", b"c", b"d"]
    assert FrameDecoder(100).feed(data) == [b"a\x1cb", b"c", b"d"]
    assert (decoder.abandoned, decoder.skipped) == (4, 5)


def test_an_end_block_split_across_reads_after_a_0x1c_of_content() -> None:
    decoder = FrameDecoder(100)
    assert decoder.feed(b"\x0bab\x1c") == []
    assert decoder.feed(b"\x1c") == []
    assert decoder.feed(b"\r\x0bc\x1c\x0b") == [b"ab\x1c"]
    assert decoder.feed(b"d" + END) == [b"d"]
    assert decoder.abandoned == 1


def test_too_many_bytes_outside_frames_end_the_stream() -> None:
    decoder = FrameDecoder(100, max_unframed_bytes=10)
    assert decoder.feed(b"0123456789" + frame(b"ok") + b"0123456789") == [b"ok"]
    assert decoder.feed(b"!" + frame(b"lost")) == [Unframed(10)]
    assert decoder.feed(frame(b"later")) == []
    assert Unframed(10).reason == "more than 10 bytes outside any MLLP frame (no 0x0B start block)"


def test_an_oversized_frame_is_refused_as_soon_as_it_passes_the_limit() -> None:
    decoder = FrameDecoder(10)
    assert decoder.feed(b"\x0b" + b"y" * 10 + b"\x1c") == []
    assert decoder.feed(b"z") == [Oversized(b"y" * 10, 10)]


# --- the listener -----------------------------------------------------------------------------
async def test_a_flood_on_one_connection_does_not_hold_up_another(engine: Engine) -> None:
    text, port = listening(FIELDS, max_unframed_bytes=2 * MIB)
    await engine.deploy(compile_ok(text))
    async with client(port) as flooder, client(port) as good:
        flooder.writer.write(b"\x0b" * MIB)
        flood_ack = asyncio.create_task(flooder.call(oru("flood")))
        answered: list[str] = []
        while not flood_ack.done():
            # Generous: a round trip takes milliseconds; before the fix it waited seconds per read.
            ack = await asyncio.wait_for(good.call(oru(len(answered))), 2)
            answered.append(ack["MSA-1"])
        last = await flood_ack
    assert answered and set(answered) == {"AA"}
    assert (last["MSA-1"], last["MSA-2"]) == ("AA", "Cflood")
    assert len(hub_of(engine.services).received("out")) == len(answered) + 1


async def test_bytes_that_are_not_mllp_close_the_connection(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "flowengine.mllp")
    text, port = listening(FIELDS, max_unframed_bytes=100)
    await engine.deploy(compile_ok(text))
    async with client(port) as c:
        await c.send(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"x-filler: y\r\n" * 10)
        assert await asyncio.wait_for(c.reader.read(10), 10) == b""
    assert "closing the connection from 127.0.0.1:" in caplog.text
    assert "more than 100 bytes outside any MLLP frame (no 0x0B start block)" in caplog.text
    assert hub_of(engine.services).received("out") == []


async def test_a_frame_not_finished_in_time_closes_the_connection(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "flowengine.mllp")
    text, port = listening(FIELDS, frame_timeout=0.3)
    await engine.deploy(compile_ok(text))
    async with client(port) as c:
        ack = await c.call(oru(1))  # a whole frame before: the clock starts at the next start block
        await c.send(b"\x0b" + oru(2)[:40])
        assert await asyncio.wait_for(c.reader.read(10), 10) == b""
    assert ack["MSA-1"] == "AA"
    assert "a message was not finished within 0.3s" in caplog.text


async def test_a_silent_connection_is_closed(engine: Engine, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "flowengine.mllp")
    text, port = listening(FIELDS, idle_timeout=0.3)
    await engine.deploy(compile_ok(text))
    async with client(port) as c:
        ack = await c.call(oru(1))
        assert await asyncio.wait_for(c.reader.read(10), 10) == b""
    assert ack["MSA-1"] == "AA"
    assert "idle for 0.3s (nothing received, or an ACK not read)" in caplog.text


async def test_time_the_flow_takes_is_not_idle_time(engine: Engine) -> None:
    text, port = listening("""
  transform wait = delay(for: "600ms")
  sink out = memory.out()
  lab -> wait -> out
""", idle_timeout=0.2)
    await engine.deploy(compile_ok(text))
    async with client(port) as c:
        ack = await c.call(oru(1))  # the flow holds it three times the idle timeout
        assert await asyncio.wait_for(c.reader.read(10), 10) == b""  # then idle: closed
    assert (ack["MSA-1"], ack["MSA-2"]) == ("AA", "C1")
