"""MLLP: framing, `mllp.listen` answering real TCP clients with ACKs, `mllp.send` waiting for them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from connectors.memory import hub_of
from connectors.mllp.framing import FrameDecoder, Oversized, frame
from flowengine.core.message import Message
from flowengine.formats import hl7
from flowengine.runtime.engine import Engine
from tests.conftest import compile_ok, free_port


def oru(n: int | str, extra: str = "") -> bytes:
    return (
        f"MSH|^~\\&|LAB|HOSP|EHR|WARD|20240101||ORU^R01^ORU_R01|C{n}|P|2.5.1\r"
        f"PID|1||P{n}\rOBR|1||R{n}|CBC\rOBX|1|NM|HGB||13.5|g/dL||N\r{extra}"
    ).encode()


class Client:
    """A plain MLLP client on a real socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.decoder = FrameDecoder(1 << 20)
        self.pending: list[bytes] = []

    async def send(self, raw: bytes) -> None:
        self.writer.write(raw)
        await self.writer.drain()

    async def ack(self) -> hl7.Hl7Message:
        while not self.pending:
            data = await asyncio.wait_for(self.reader.read(65536), 10)
            assert data, "the listener closed the connection"
            self.pending += [f for f in self.decoder.feed(data) if isinstance(f, bytes)]
        return hl7.parse(self.pending.pop(0))

    async def call(self, payload: bytes) -> hl7.Hl7Message:
        await self.send(frame(payload))
        return await self.ack()


@contextlib.asynccontextmanager
async def client(port: int) -> AsyncIterator[Client]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield Client(reader, writer)
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def listening(body: str, **options: object) -> tuple[str, int]:
    port = free_port()
    extra = "".join(f", {k}: {v}" for k, v in options.items())
    return f"flow lab {{\n  source lab = mllp.listen(port: {port}{extra})\n{body}\n}}\n", port


# --- framing ------------------------------------------------------------------------
def test_frames_split_anywhere_and_several_per_read() -> None:
    data = b"".join(frame(b"m%d" % i) for i in range(4))
    decoder = FrameDecoder(100)
    got = [f for i in range(len(data)) for f in decoder.feed(data[i : i + 1])]
    assert got == [b"m0", b"m1", b"m2", b"m3"]
    assert FrameDecoder(100).feed(data) == got


def test_garbage_between_frames_is_skipped_and_counted() -> None:
    decoder = FrameDecoder(100)
    assert decoder.feed(b"noise\r\n" + frame(b"a") + b"\x00\x1c" + frame(b"b\x1cc")) == [b"a", b"b\x1cc"]
    assert decoder.skipped == 9


def test_a_new_start_block_abandons_an_unfinished_frame() -> None:
    decoder = FrameDecoder(100)
    assert decoder.feed(b"\x0bhalf a mess" + frame(b"whole")) == [b"whole"]
    assert decoder.abandoned == 1


def test_an_oversized_frame_is_refused_with_its_head_and_ends_the_stream() -> None:
    decoder = FrameDecoder(10)
    assert decoder.feed(frame(b"ok") + frame(b"x" * 25) + frame(b"ok")) == [b"ok", Oversized(b"x" * 10, 10)]
    assert decoder.feed(frame(b"more")) == []


# --- mllp.listen ----------------------------------------------------------------------
FIELDS = """
  transform fields = json.map { patient: hl7["PID-3.1"]; value: hl7["OBX-5"] }
  sink out = memory.out()
  lab -> fields -> out
"""


async def test_acks_each_message_after_the_flow_finished(engine: Engine) -> None:
    text, port = listening(FIELDS)
    await engine.deploy(compile_ok(text))
    async with client(port) as c:
        ack = await c.call(oru(1))
    assert (ack["MSA-1"], ack["MSA-2"], ack["MSH-5"], ack["MSH-9"]) == ("AA", "C1", "LAB", "ACK")
    (out,) = hub_of(engine.services).received("out")
    assert out.json == {"patient": "P1", "value": "13.5"}
    assert out.attributes["mllp.peer"].startswith("127.0.0.1:")


async def test_concurrent_connections_partial_frames_and_garbage(engine: Engine) -> None:
    text, port = listening(FIELDS)
    await engine.deploy(compile_ok(text))

    async def session(k: int) -> list[str]:
        async with client(port) as c:
            acks = []
            for i in range(5):
                raw = b"\r\n garbage \r\n" + frame(oru(f"{k}-{i}"))
                for start in range(0, len(raw), 37):  # dribble the frame in pieces
                    await c.send(raw[start : start + 37])
                    await asyncio.sleep(0)
                ack = await c.ack()
                acks.append(f"{ack['MSA-1']}:{ack['MSA-2']}")
            return acks

    results = await asyncio.gather(*(session(k) for k in range(6)))
    assert results == [[f"AA:C{k}-{i}" for i in range(5)] for k in range(6)]
    received = sorted(m.json["patient"] for m in hub_of(engine.services).received("out"))
    assert received == sorted(f"P{k}-{i}" for k in range(6) for i in range(5))


async def test_an_oversized_frame_gets_ae_and_the_connection_is_closed(engine: Engine) -> None:
    text, port = listening(FIELDS, max_frame_bytes=300)
    await engine.deploy(compile_ok(text))
    async with client(port) as c:
        ok = await c.call(oru(1))
        big = await c.call(oru(2, "NTE|1||" + "x" * 500 + "\r"))
        assert await asyncio.wait_for(c.reader.read(10), 10) == b""
    assert (ok["MSA-1"], ok["MSA-2"]) == ("AA", "C1")
    assert (big["MSA-1"], big["MSA-2"], big["MSA-3"]) == ("AE", "C2", "message is over the limit of 300 bytes")
    assert len(hub_of(engine.services).received("out")) == 1


async def test_content_errors_answer_ae_with_err(engine: Engine) -> None:
    text, port = listening("""
  transform check = hl7.validate(required: {"ORU^R01": ["PID", "OBR", "OBX", "SPM"]})
  sink out = memory.out()
  lab -> check -> out
""")
    await engine.deploy(compile_ok(text))
    async with client(port) as c:
        invalid = await c.call(oru(1))
        garbage = await c.call(b"this is not HL7")
    assert (invalid["MSA-1"], invalid["MSA-2"], invalid["ERR-2"], invalid["ERR-3"]) == ("AE", "C1", "SPM", "100")
    assert invalid["ERR-8"] == "SPM: ORU^R01 requires a SPM segment; none found"
    assert (garbage["MSA-1"], garbage["MSA-2"]) == ("AE", None)
    assert garbage["MSA-3"].startswith("body is not HL7 v2: segment 1: a message starts with MSH")
    assert hub_of(engine.services).received("out") == []


async def test_a_broken_segment_after_a_readable_msh_gets_a_nak_addressed_from_that_msh(engine: Engine) -> None:
    text, port = listening("""
  transform json = hl7.to_json()
  sink out = memory.out()
  lab -> json -> out
""")
    await engine.deploy(compile_ok(text))
    header = "MSH|^~\\&|LAB|HOSP|EHR|WARD|20240101||ORU^R01|{}|P|2.6\rPID|1||P1\r"
    async with client(port) as c:
        control = await c.call((header.format("C7") + "OBX|1|NM|HGB||13\x015|g/dL\r").encode())
        joined = await c.call((header.format("C8") + "OBX|1|NM|HGB||13.5\rpid|2\r").encode())
    for ack, control_id in ((control, "C7"), (joined, "C8")):
        assert (ack["MSA-1"], ack["MSA-2"]) == ("AE", control_id)
        assert [ack[f"MSH-{n}"] for n in (3, 4, 5, 6, 12)] == ["EHR", "WARD", "LAB", "HOSP", "2.6"]
    assert (control["ERR-2.1"], control["ERR-2.3"], control["ERR-3.1"]) == ("OBX", "5", "102")
    assert control["ERR-8"].endswith(
        "segment 3 (OBX): control character U+0001 at column 17; control characters must be escaped"
    )
    assert (joined["ERR-2.1"], joined["ERR-3.1"]) == (None, "100")
    assert "segment 4: 'pid|2' does not start with a segment id" in joined["ERR-8"]
    assert hub_of(engine.services).received("out") == []


async def test_delivery_failures_answer_ar_and_the_flow_cannot_ack_them(engine: Engine) -> None:
    text, port = listening(f"""
  sink ack = hl7.ack()
  sink forward = mllp.send(host: "127.0.0.1", port: {free_port()}, timeout: 2)
  lab -> ack
  lab -> forward
""")
    await engine.deploy(compile_ok(text))
    async with client(port) as c:
        ack = await c.call(oru(1))
    assert (ack["MSA-1"], ack["MSA-2"]) == ("AR", "C1")
    assert "ConnectionRefusedError" in ack["MSA-3"]


async def test_an_ack_built_on_one_path_does_not_answer_for_a_parked_failure(engine: Engine) -> None:
    text, port = listening(f"""
  sink ack = hl7.ack()
  sink forward = mllp.send(host: "127.0.0.1", port: {free_port()}, timeout: 2)
  sink parked = memory.out(channel: "parked")
  lab -> ack
  lab -> forward
  on error forward -> parked
""")
    await engine.deploy(compile_ok(text))
    async with client(port) as c:
        ack = await c.call(oru(1))
    assert (ack["MSA-1"], ack["MSA-2"]) == ("AR", "C1")
    assert len(hub_of(engine.services).received("parked")) == 1


async def test_the_ack_a_flow_builds_is_the_answer(engine: Engine) -> None:
    text, port = listening("""
  sink ack = hl7.ack(text: "stored for {{ hl7['PID-3.1'] }}")
  lab -> ack
""")
    await engine.deploy(compile_ok(text))
    async with client(port) as c:
        ack = await c.call(oru(7))
    assert (ack["MSA-1"], ack["MSA-2"], ack["MSA-3"]) == ("AA", "C7", "stored for P7")


async def test_stop_closes_idle_connections(engine: Engine) -> None:
    text, port = listening(FIELDS)
    await engine.deploy(compile_ok(text))
    async with client(port) as c:
        await c.call(oru(1))
        await engine.undeploy("lab", drain_timeout=5)
        assert await asyncio.wait_for(c.reader.read(10), 5) == b""
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", port)


# --- mllp.send ------------------------------------------------------------------------
async def test_send_succeeds_on_aa_and_fails_on_ae(engine: Engine) -> None:
    receiver, port = listening("""
  transform check = hl7.validate(required: {"ORU^R01": ["PID", "OBR", "OBX", "NTE"]})
  sink out = memory.out()
  lab -> check -> out
""")
    await engine.deploy(compile_ok(receiver))
    await engine.deploy(
        compile_ok(f"""
flow sender {{
  source in = memory.in()
  sink send = mllp.send(host: "127.0.0.1", port: {port}, timeout: 5, connections: 2)
  sink acks = memory.out()
  in -> send -> acks
}}
""")
    )
    hub = hub_of(engine.services)
    good = await asyncio.gather(*(hub.send("in", Message(oru(i, "NTE|1||ok\r"))) for i in range(4)))
    assert all(o.ok for o in good)
    assert sorted(m.attributes["mllp.ack_code"] for m in hub.received("acks")) == ["AA"] * 4
    assert len(hub.received("out")) == 4
    bad = await hub.send("in", Message(oru(9)))
    assert not bad.ok and bad.error.kind == "delivery_failed"
    assert bad.error.message == (f"MLLP 127.0.0.1:{port} answered AE: NTE: ORU^R01 requires a NTE segment; none found")


async def test_send_times_out_when_no_ack_comes(engine: Engine) -> None:
    received: list[bytes] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.read(65536))
        await reader.read()  # never answer; returns when the sender gives up and closes
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await engine.deploy(
            compile_ok(f"""
flow sender {{
  source in = memory.in()
  sink send = mllp.send(host: "127.0.0.1", port: {port}, timeout: 0.3)
  in -> send
}}
""")
        )
        outcome = await hub_of(engine.services).send("in", Message(oru(1)))
    finally:
        server.close()
    assert outcome.error.message == f"MLLP 127.0.0.1:{port}: no ACK within 0.3s"
    assert received and received[0].startswith(b"\x0bMSH|")
