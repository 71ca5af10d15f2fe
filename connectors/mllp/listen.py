"""`mllp.listen`: receive HL7 v2 over MLLP (TCP) and answer each message with an ACK.

One task per connection reads frames in order and answers each before the
next, on the same connection, once the flow has finished the message (MLLP
senders wait for that ACK, so it is the acknowledgement of at-least-once):

    every path succeeded, a node marked a reply (`hl7.ack`)  -> that reply
    every path succeeded                                    -> AA
    failed, or only an error route handled it               -> AE when the message was at
        fault (bad_message, validation, too_large), else AR (the sender may retry); MSA-3 and
        ERR carry the error

A flow can never AA a message that did not fully succeed. Bytes between
frames are skipped; a frame over `max_frame_bytes` is read to its end and
answered AE without entering the flow. Many connections are served at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from connectors.mllp.framing import FrameDecoder, Oversized, frame
from connectors.mllp.tls import SERVER_TLS_FIELD, TlsFiles, client_name
from flowengine import formats
from flowengine.formats import hl7
from flowengine.formats.hl7.errors import APPLICATION_INTERNAL_ERROR
from flowengine.plugin import BuildContext, Field, KindSpec, Message, Outcome, Role, Source, SourceContext

log = logging.getLogger("flowengine.mllp")
_CONTENT_ERRORS = ("bad_message", "validation", "too_large")
_READ = 65536


class MllpListen(Source):
    def __init__(self, name: str, host: str, port: int, max_frame_bytes: int, tls: TlsFiles | None = None) -> None:
        super().__init__(name, "mllp.listen")
        self.host = host
        self.port = port
        self.max_frame_bytes = max_frame_bytes
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
        client = client_name(writer.get_extra_info("peercert"))
        decoder = FrameDecoder(self.max_frame_bytes)
        try:
            while not self._stopping:
                self._idle.add(writer)
                data = await reader.read(_READ)
                self._idle.discard(writer)
                if not data:
                    break
                for item in decoder.feed(data):
                    writer.write(frame(await self._answer(item, peer, client)))
                    await writer.drain()
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

    async def _answer(self, item: bytes | Oversized, peer: str, client: str | None) -> bytes:
        if isinstance(item, Oversized):
            text = f"message of {item.size} bytes is over the limit of {self.max_frame_bytes} bytes"
            log.warning("mllp.listen %s: %s refused: %s", self.name, peer, text)
            return hl7.build_ack(hl7.parse_header(item.head), "AE", text).to_bytes()
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
    if outcome.ok and outcome.exchange.reply is not None:
        return outcome.exchange.reply.body
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
    return MllpListen(ctx.name, o["host"], o["port"], o["max_frame_bytes"], TlsFiles.from_option(ctx))


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
        "connection are answered in order; connections are served concurrently. The message carries "
        '`attributes["mllp.peer"]`, and with mutual TLS `attributes["mllp.client"]`, the common name of the '
        "client's certificate."
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
            "Larger frames are answered AE without entering the flow",
            default=1_048_576,
        ),
        "tls": SERVER_TLS_FIELD,
    },
)
