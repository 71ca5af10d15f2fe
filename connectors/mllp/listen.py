"""`mllp.listen`: receive HL7 v2 over MLLP (TCP) and answer each message with an ACK.

One task per connection reads frames in order and answers each before the
next, on the same connection, once the flow has finished the message (MLLP
senders wait for that ACK, so it is the acknowledgement of at-least-once):

    every path succeeded, a node marked a reply (`hl7.ack`)  -> that reply (a reply built
        on one path never answers for another path that failed: `Outcome.reply`)
    every path succeeded                                    -> AA
    failed, or only an error route handled it               -> AE when the message was at
        fault (bad_message, validation, too_large, too_complex), else AR (the sender may retry); MSA-3 and
        ERR carry the error

A flow can never AA a message that did not fully succeed. Many connections
are served at once, and none can hold the others up or cost without bound
(`Limits`): decoding is linear, at C speed, and a connection gives the event
loop up after each full read and after 2 ms of answering frames; a frame over `max_frame_bytes` is answered AE
from its first bytes without entering the flow, and the connection closed; so
is one that sends too much outside frames, takes too long over a frame or
stays silent too long (each closing is logged with its reason).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from connectors.mllp.clock import ConnectionClock
from connectors.mllp.framing import FrameDecoder, Oversized, Unframed, frame
from connectors.mllp.tls import SERVER_TLS_FIELD, TlsFiles, client_name
from flowengine import formats
from flowengine.formats import hl7
from flowengine.formats.hl7.errors import APPLICATION_INTERNAL_ERROR
from flowengine.plugin import BuildContext, Field, KindSpec, Message, Outcome, Role, Source, SourceContext

log = logging.getLogger("flowengine.mllp")
_CONTENT_ERRORS = ("bad_message", "validation", "too_large", "too_complex")
_READ = 4096  # bytes taken per read: the most one connection decodes before others get a turn
_SLICE = 0.002  # seconds one connection may answer frames of one read before others get a turn


@dataclass(frozen=True, slots=True)
class Limits:
    """What one connection may cost before it is closed (issue 19: one bad sender must not
    hold the engine): bytes per frame and between frames, seconds per frame and of silence."""

    max_frame_bytes: int = 1_048_576
    max_unframed_bytes: int = 4096
    frame_timeout: float = 30
    idle_timeout: float = 3600


DEFAULTS = Limits()


class MllpListen(Source):
    def __init__(self, name: str, host: str, port: int, limits: Limits, tls: TlsFiles | None = None) -> None:
        super().__init__(name, "mllp.listen")
        self.host = host
        self.port = port
        self.limits = limits
        self.tls = tls
        self.address: tuple[str, int] | None = None  # bound address, once started (port 0 picks one)
        self._ctx: SourceContext | None = None
        self._server: asyncio.Server | None = None
        self._idle: set[asyncio.StreamWriter] = set()
        self._stopping = False

    async def start(self, ctx: SourceContext) -> None:
        self._ctx = ctx
        self._stopping = False
        context, mode = None, ""
        if self.tls is not None:
            context = self.tls.server_context(f"mllp.listen {self.name}")
            mode = " (TLS, client certificates required)" if self.tls.ca else " (TLS)"
        self._server = await asyncio.start_server(self._serve, self.host, self.port, ssl=context)
        self.address = self._server.sockets[0].getsockname()[:2]
        log.info("mllp.listen %s on %s:%s%s", self.name, *self.address, mode)

    async def stop(self) -> None:
        """Refuse new connections, close idle ones; busy ones close after sending their ACK."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        for writer in list(self._idle):
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = "{}:{}".format(*writer.get_extra_info("peername")[:2])
        decoder = FrameDecoder(self.limits.max_frame_bytes, self.limits.max_unframed_bytes)
        clock = ConnectionClock(writer.transport, self.limits.frame_timeout, self.limits.idle_timeout)
        lost: ConnectionError | None = None
        reason = None
        try:
            client = client_name(writer.get_extra_info("peercert"))
            reason = await self._converse(reader, writer, decoder, clock, (peer, client))
        except ConnectionError as err:
            lost = err
        finally:
            clock.stop()
            self._idle.discard(writer)
            reason = clock.reason or reason
            if reason:
                log.warning("mllp.listen %s: closing the connection from %s: %s", self.name, peer, reason)
            elif lost is not None:
                log.info("mllp.listen %s: connection from %s lost: %s", self.name, peer, lost)
            if decoder.skipped or decoder.abandoned:
                log.warning(
                    "mllp.listen %s: %s sent %d byte(s) outside frames and %d unfinished frame(s)",
                    self.name,
                    peer,
                    decoder.skipped,
                    decoder.abandoned,
                )
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, decoder: FrameDecoder,
                        clock: ConnectionClock, sender: tuple[str, str | None]) -> str | None:  # fmt: skip
        """Read frames and answer each until the peer hangs up, we stop or the clock closes the
        connection (None), or until the peer breaks a size limit: then the reason."""
        loop = asyncio.get_running_loop()
        while not self._stopping:
            self._idle.add(writer)
            try:
                data = await reader.read(_READ)
            finally:
                self._idle.discard(writer)
            if not data:
                return None
            turn = loop.time()
            items = decoder.feed(data)
            clock.active(decoder.in_frame)
            for item in items:
                if isinstance(item, Oversized):
                    writer.write(frame(self._refuse(item)))
                    await writer.drain()
                    return item.reason
                if isinstance(item, Unframed):
                    return item.reason
                clock.busy = True
                try:
                    ack = await self._answer(item, *sender)
                finally:
                    clock.busy = False
                writer.write(frame(ack))
                await writer.drain()
                clock.active(decoder.in_frame)
                if loop.time() - turn > _SLICE:  # answering may not have paused: let other connections in
                    await asyncio.sleep(0)
                    turn = loop.time()
            if len(data) == _READ:  # more may be buffered, and reading it would not pause either
                await asyncio.sleep(0)
        return None

    def _refuse(self, item: Oversized) -> bytes:
        """The AE for a frame over the limit, addressed with the MSH of its first bytes."""
        return hl7.build_ack(hl7.parse_header(item.head), "AE", item.reason).to_bytes()

    async def _answer(self, item: bytes, peer: str, client: str | None) -> bytes:
        assert self._ctx is not None, "mllp.listen used before start()"
        attributes: dict[str, Any] = {"mllp.peer": peer}
        if client is not None:
            attributes["mllp.client"] = client
        msg = Message(item, content_type=hl7.ER7_TYPE, attributes=attributes)
        try:
            outcome = await self._ctx.process(msg)
        except Exception as err:  # the engine itself failed: say so, the sender will resend
            log.exception("mllp.listen %s: processing a message from %s failed", self.name, peer)
            return hl7.build_ack(hl7.parse_header(item), "AR", f"engine error: {type(err).__name__}").to_bytes()
        return reply_for(outcome, msg)


def reply_for(outcome: Outcome, msg: Message) -> bytes:
    """The ACK to send for a finished message (see the module docstring)."""
    reply = outcome.reply
    if reply is not None:
        return reply.body
    parsed = _parsed(msg)
    error = outcome.error
    if outcome.ok and error is None:
        return hl7.build_ack(parsed, "AA").to_bytes()
    assert error is not None
    code = "AE" if error.kind in _CONTENT_ERRORS else "AR"
    detail: dict[str, Any] = error.details[0] if error.details else {}
    return hl7.build_ack(
        parsed,
        code,
        error.message,
        location=str(detail.get("location", "")),
        error_code=int(detail.get("hl7_error_code", APPLICATION_INTERNAL_ERROR)),
    ).to_bytes()


def _parsed(msg: Message) -> hl7.Hl7Message | None:
    """The message as HL7 to address its ACK: the tree the flow's `hl7.*` nodes cached on it, else
    parsed now (the body is the ER7 this source received); when a later segment is broken, its MSH
    alone (so the NAK still names the sender, control id and version); None when it is not HL7."""
    try:
        parsed: hl7.Hl7Message = msg.view(hl7.VIEW, lambda m: hl7.parse(m.body))
    except formats.FormatError:
        return hl7.parse_header(msg.body)
    return parsed


def _build(ctx: BuildContext) -> MllpListen:
    o = ctx.options
    limits = Limits(o["max_frame_bytes"], o["max_unframed_bytes"], float(o["frame_timeout"]), float(o["idle_timeout"]))
    return MllpListen(ctx.name, o["host"], o["port"], limits, TlsFiles.from_option(ctx))


SPEC = KindSpec(
    name="mllp.listen",
    role=Role.SOURCE,
    external=True,
    answers_sender=True,
    summary="Receive HL7 v2 over MLLP (TCP); answer each message with its ACK once the flow has finished it.",
    description=(
        "Frames are 0x0B message 0x1C 0x0D. The answer is the ACK an `hl7.ack` node built if every path "
        "succeeded, AA if every path succeeded without one, and AE (the message is at fault) or AR (the "
        "engine is: the sender may retry) otherwise, with the error in MSA-3 and ERR. Messages on one "
        "connection are answered in order; connections are served concurrently, and one that breaks a limit "
        "(frame size, bytes outside frames, frame or idle timeout) is closed with the reason logged. "
        'The message carries `attributes["mllp.peer"]`, and with mutual TLS `attributes["mllp.client"]`, '
        "the common name of the client's certificate."
    ),
    build=_build,
    options={
        "port": Field(
            {"type": "integer", "minimum": 0, "maximum": 65535},
            "TCP port to listen on",
            required=True,
            examples=(2575,),
        ),
        "host": Field(
            {"type": "string", "minLength": 1}, 'Address to bind; "0.0.0.0" accepts other machines', default="127.0.0.1"
        ),
        "max_frame_bytes": Field(
            {"type": "integer", "minimum": 64},
            "A larger frame is answered AE without entering the flow, and the connection closed",
            default=DEFAULTS.max_frame_bytes,
        ),
        "max_unframed_bytes": Field(
            {"type": "integer", "minimum": 0},
            "More bytes than this in a row outside any frame close the connection (the peer is not MLLP)",
            default=DEFAULTS.max_unframed_bytes,
        ),
        "frame_timeout": Field(
            {"type": "number", "exclusiveMinimum": 0},
            "Seconds from a frame's start block to its end block; a slower frame closes the connection",
            default=DEFAULTS.frame_timeout,
        ),
        "idle_timeout": Field(
            {"type": "number", "exclusiveMinimum": 0},
            "Seconds a connection may send nothing (or leave its ACK unread) before it is closed",
            default=DEFAULTS.idle_timeout,
        ),
        "tls": SERVER_TLS_FIELD,
    },
)
