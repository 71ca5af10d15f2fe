"""`mllp.listen`: receive HL7 v2 over MLLP (TCP) and answer each message with an ACK.

One task per connection reads frames in order and answers each before the
next, on the same connection, once the flow has finished the message (MLLP
senders wait for that ACK, so it is the acknowledgement of at-least-once):

    every path succeeded, a node marked a reply (`hl7.ack`)  -> that reply
    every path succeeded                                    -> AA
    failed, or only an error route handled it               -> AE when the message was at
        fault (bad_message, validation, too_large), else AR (the sender may retry); MSA-3 and
        ERR carry the error

A flow can never AA a message that did not fully succeed. Many connections
are served at once, and none can hold the others up or cost without bound
(`Limits`): decoding is linear and a connection gives the event loop up after
each answer and each full read; a frame over `max_frame_bytes` is answered AE
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

from connectors.mllp.framing import FrameDecoder, Oversized, Unframed, frame
from connectors.mllp.tls import SERVER_TLS_FIELD, TlsFiles, client_name
from flowengine import formats
from flowengine.build import BuildContext
from flowengine.errors import BadMessage
from flowengine.formats import hl7
from flowengine.formats.hl7.ack import APPLICATION_INTERNAL_ERROR
from flowengine.kinds.hl7 import ER7_TYPE, hl7_of
from flowengine.message import Message
from flowengine.nodes import Source, SourceContext
from flowengine.outcome import Outcome
from flowengine.spec import Field, KindSpec, Role

log = logging.getLogger("flowengine.mllp")
_CONTENT_ERRORS = ("bad_message", "validation", "too_large")
_READ = 8192  # bytes taken per read: the most one connection decodes before others get a turn


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
        try:
            reason = await self._converse(reader, writer, decoder, peer, client_name(writer.get_extra_info("peercert")))
            if reason is not None:
                log.warning("mllp.listen %s: closing the connection from %s: %s", self.name, peer, reason)
        except ConnectionError as err:
            log.info("mllp.listen %s: connection from %s lost: %s", self.name, peer, err)
        finally:
            self._idle.discard(writer)
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
                        peer: str, client: str | None) -> str | None:  # fmt: skip
        """Read frames and answer each until the peer hangs up or we stop (None), or until it
        breaks a limit: then the reason, to log before closing."""
        loop = asyncio.get_running_loop()
        frame_deadline: float | None = None  # when the frame being read must be whole
        while not self._stopping:
            if not decoder.in_frame:
                frame_deadline = None
            elif frame_deadline is None:
                frame_deadline = loop.time() + self.limits.frame_timeout
            idle_deadline = loop.time() + self.limits.idle_timeout
            self._idle.add(writer)
            try:
                async with asyncio.timeout_at(min(idle_deadline, frame_deadline or idle_deadline)):
                    data = await reader.read(_READ)
            except TimeoutError:
                if frame_deadline is not None and frame_deadline <= idle_deadline:
                    return f"a message was not finished within {self.limits.frame_timeout:g}s"
                return f"nothing received for {self.limits.idle_timeout:g}s"
            finally:
                self._idle.discard(writer)
            if not data:
                return None
            for item in decoder.feed(data):
                if isinstance(item, Oversized):
                    await self._send(writer, self._refuse(item))
                    return item.reason
                if isinstance(item, Unframed):
                    return item.reason
                if not await self._send(writer, await self._answer(item, peer, client)):
                    return f"the ACK was not read within {self.limits.idle_timeout:g}s"
                await asyncio.sleep(0)  # answering can finish without a pause: let other connections in
            if len(data) == _READ:  # more may be buffered, and reading it would not pause either
                await asyncio.sleep(0)
        return None

    async def _send(self, writer: asyncio.StreamWriter, payload: bytes) -> bool:
        """Write one answer; False when the peer does not read it within the idle timeout."""
        writer.write(frame(payload))
        try:
            async with asyncio.timeout(self.limits.idle_timeout):
                await writer.drain()
        except TimeoutError:
            return False
        return True

    def _refuse(self, item: Oversized) -> bytes:
        """The AE for a frame over the limit, addressed with the MSH of its first bytes."""
        return hl7.build_ack(_header(item.head), "AE", item.reason).to_bytes()

    async def _answer(self, item: bytes, peer: str, client: str | None) -> bytes:
        assert self._ctx is not None, "mllp.listen used before start()"
        attributes: dict[str, Any] = {"mllp.peer": peer}
        if client is not None:
            attributes["mllp.client"] = client
        msg = Message(item, content_type=ER7_TYPE, attributes=attributes)
        try:
            outcome = await self._ctx.process(msg)
        except Exception as err:  # the engine itself failed: say so, the sender will resend
            log.exception("mllp.listen %s: processing a message from %s failed", self.name, peer)
            return hl7.build_ack(_header(item), "AR", f"engine error: {type(err).__name__}").to_bytes()
        return reply_for(outcome, msg)


def reply_for(outcome: Outcome, msg: Message) -> bytes:
    """The ACK to send for a finished message (see the module docstring)."""
    if outcome.ok and outcome.exchange.reply is not None:
        return outcome.exchange.reply.body
    try:
        parsed: hl7.Hl7Message | None = hl7_of(msg)
    except BadMessage:
        parsed = None
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


def _header(head: bytes) -> hl7.Hl7Message | None:
    """The MSH of a frame's first bytes, to address a reject; None when even that is unreadable."""
    first = head.replace(b"\n", b"\r").split(b"\r", 1)[0]
    try:
        return hl7.parse(first)
    except formats.FormatError:
        return None


def _build(ctx: BuildContext) -> MllpListen:
    o = ctx.options
    limits = Limits(o["max_frame_bytes"], o["max_unframed_bytes"], float(o["frame_timeout"]), float(o["idle_timeout"]))
    return MllpListen(ctx.name, o["host"], o["port"], limits, TlsFiles.from_option(ctx))


SPEC = KindSpec(
    name="mllp.listen",
    role=Role.SOURCE,
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
