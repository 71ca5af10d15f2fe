"""The socket under an aio-pika connection: writes coalesced, and closed when the broker drops it.

aiormq takes a `transport_factory`; ours does two things on top of aiormq's own:

- **One send per loop iteration.** aiormq's writer task hands every frame to the
  transport with its own `write`, and the transport sends at once: two system calls
  per relayed message (the publish, the ack) plus one per confirm round. Our writer
  collects what is written during one event-loop iteration and passes it on in one
  `write` at the next; `drain` keeps its meaning (the transport's flow control).
- **Closing.** aiormq 6.9/7.0 leaves the `asyncio.StreamWriter` open when a
  connection ends from the broker's side (`Connection.Close`, EOF, heartbeat
  timeout): the socket lingers until garbage collection, which then warns `unclosed
  <StreamWriter>` (mosquito/aiormq#231, open). An engine that reconnects for weeks
  would leak one socket per drop, so the factory remembers the writer and
  `AmqpConnection` closes it once the connection is lost. Remove when fixed upstream.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aio_pika
from aiormq.connection import TransportFactory
from aiormq.exceptions import AMQPConnectionError
from yarl import URL


class CoalescingWriter(asyncio.StreamWriter):
    """A StreamWriter that hands what is written during one loop iteration to the transport at once."""

    def __init__(self, transport: asyncio.WriteTransport, protocol: asyncio.BaseProtocol,
                 reader: asyncio.StreamReader, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(transport, protocol, reader, loop)
        self._event_loop = loop
        self._pending: list[bytes | bytearray | memoryview] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._event_loop.call_soon(self.flush)
        self._pending.append(data)

    def flush(self) -> None:
        """Write what was collected; dropped if the connection is already closing (it is lost)."""
        if not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        if not self.transport.is_closing():
            super().write(data)

    def write_eof(self) -> None:
        self.flush()
        super().write_eof()

    def close(self) -> None:
        self.flush()
        super().close()


class _RememberingFactory(TransportFactory):
    """aiormq's TCP/TLS factories, but with a `CoalescingWriter`, remembered for `release_socket`."""

    def __init__(self, tls: bool) -> None:
        self.tls = tls
        self.writer: asyncio.StreamWriter | None = None

    async def create(self, url: URL, **kwargs: Any) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        provider = kwargs.pop("ssl_context_provider", None)
        tls = await provider.get_context() if self.tls and provider is not None else None
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        try:
            transport, _ = await loop.create_connection(lambda: protocol, url.host or "localhost",
                                                        url.port or (5671 if self.tls else 5672), ssl=tls, **kwargs)
        except OSError as err:
            raise AMQPConnectionError(*err.args) from err
        writer = CoalescingWriter(transport, protocol, reader, loop)
        self.writer = writer
        return reader, writer


class ClosingConnection(aio_pika.Connection):
    """`aio_pika.Connection` whose socket `release_socket` closes after a drop."""

    def __init__(self, url: URL, loop: asyncio.AbstractEventLoop | None = None, **kwargs: Any) -> None:
        super().__init__(url, loop=loop, **kwargs)
        self._factory = _RememberingFactory(tls=self.url.scheme == "amqps")
        self.kwargs["transport_factory"] = self._factory

    def release_socket(self) -> None:
        writer = self._factory.writer
        if writer is not None and not writer.is_closing():
            writer.close()
