"""`mllp.send`: deliver HL7 v2 over MLLP (optionally TLS) and succeed only on a positive ACK.

Each connection carries one message at a time (MLLP has no correlation
beyond order), so `connections` sets how many messages are in flight. The
node waits `timeout` seconds for the ACK: AA/CA succeeds and the ACK
continues down the flow; AE/AR/CE/CR, an ACK for another control id, a
non-ACK answer, a timeout or a connection error raise `DeliveryFailed`, so
the source message is not acknowledged and is retried. A connection that
timed out is closed (a late ACK would answer the wrong message).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl

from connectors.mllp.framing import FrameDecoder, frame
from connectors.mllp.tls import CLIENT_TLS_FIELD, TlsFiles
from flowengine import formats
from flowengine.formats import hl7
from flowengine.plugin import AsyncNode, BuildContext, DeliveryFailed, Field, KindSpec, Message, Role, Services

_POSITIVE = ("AA", "CA")


class _Connection:
    """One TCP (or TLS) connection, opened on first use and after any failure."""

    def __init__(self, host: str, port: int, max_frame_bytes: int) -> None:
        self.host, self.port, self.max_frame_bytes = host, port, max_frame_bytes
        self.tls: ssl.SSLContext | None = None  # set by the node's `open`
        self.server_hostname: str | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._decoder = FrameDecoder(max_frame_bytes)

    async def request(self, payload: bytes) -> bytes:
        if self._reader is None or self._reader.at_eof():
            await self.close()
            self._reader, self._writer = await asyncio.open_connection(
                self.host, self.port, ssl=self.tls, server_hostname=self.server_hostname
            )
            self._decoder = FrameDecoder(self.max_frame_bytes)
        assert self._writer is not None
        self._writer.write(frame(payload))
        await self._writer.drain()
        while True:
            data = await self._reader.read(65536)
            if not data:
                raise ConnectionError("the peer closed the connection without answering")
            for item in self._decoder.feed(data):
                if not isinstance(item, bytes):
                    raise ConnectionError(f"the answer is not an ACK: {item.reason}")
                return item

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


class MllpSend(AsyncNode):
    def __init__(self, name: str, host: str, port: int, timeout: float, connections: int, max_frame_bytes: int,
                 tls: TlsFiles | None = None) -> None:
        super().__init__(name, "mllp.send")
        self.host, self.port, self.timeout, self.tls = host, port, timeout, tls
        self._all = [_Connection(host, port, max_frame_bytes) for _ in range(connections)]
        self._free: asyncio.Queue[_Connection] = asyncio.Queue()

    async def open(self, services: Services) -> None:
        if self.tls is not None:
            context = self.tls.client_context(f"mllp.send {self.name}")
            for conn in self._all:
                conn.tls, conn.server_hostname = context, self.tls.server_name or self.host
        for conn in self._all:
            self._free.put_nowait(conn)

    async def close(self) -> None:
        for conn in self._all:
            await conn.close()

    async def process(self, msg: Message) -> Message:
        where = f"MLLP {self.host}:{self.port}"
        conn = await self._free.get()
        try:
            async with asyncio.timeout(self.timeout):
                answer = await conn.request(msg.body)
        except TimeoutError:
            await conn.close()
            raise DeliveryFailed(f"{where}: no ACK within {self.timeout}s") from None
        except OSError as err:
            await conn.close()
            raise DeliveryFailed(f"{where}: {type(err).__name__}: {err}") from None
        finally:
            self._free.put_nowait(conn)
        code = _check(answer, msg, where)
        out = msg.derive(body=answer, content_type=hl7.ER7_TYPE)
        out.attributes["mllp.ack_code"] = code
        return out


def _check(answer: bytes, sent: Message, where: str) -> str:
    try:
        ack = hl7.parse(answer)
    except formats.FormatError as err:
        raise DeliveryFailed(f"{where}: the answer is not an HL7 ACK: {err}") from None
    code, reason = hl7.ack_code(ack)
    if code not in _POSITIVE:
        raise DeliveryFailed(
            f"{where} answered {code or 'no MSA-1'}" + (f": {reason}" if reason else ""),
            details=[{"ack_code": code, "reason": reason}],
        )
    with contextlib.suppress(formats.FormatError):
        expected = hl7.parse(sent.body).control_id
        if expected and ack["MSA-2"] != expected:
            raise DeliveryFailed(f"{where} acknowledged control id {ack['MSA-2']!r}, not {expected!r}")
    return code


def _build(ctx: BuildContext) -> MllpSend:
    o = ctx.options
    return MllpSend(ctx.name, o["host"], o["port"], float(o["timeout"]), o["connections"], o["max_frame_bytes"],
                    TlsFiles.from_option(ctx))


SPEC = KindSpec(
    name="mllp.send",
    role=Role.SINK,
    external=True,
    summary="Send HL7 v2 over MLLP and wait for the ACK; AE/AR or a timeout fails the message (it is retried).",
    build=_build,
    options={
        "host": Field({"type": "string", "minLength": 1}, "Receiver's host", required=True),
        "port": Field({"type": "integer", "minimum": 1, "maximum": 65535}, "Receiver's port", required=True),
        "timeout": Field(
            {"type": "number", "exclusiveMinimum": 0}, "Seconds to connect, send and get the ACK", default=30
        ),
        "connections": Field(
            {"type": "integer", "minimum": 1, "maximum": 64},
            "Connections kept open: messages in flight at once",
            default=1,
        ),
        "max_frame_bytes": Field({"type": "integer", "minimum": 64}, "Largest ACK accepted", default=1_048_576),
        "tls": CLIENT_TLS_FIELD,
    },
)
