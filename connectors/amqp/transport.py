"""An aio-pika connection that closes its socket when the broker drops it.

aiormq 6.9/7.0 leaves the `asyncio.StreamWriter` open when a connection ends
from the broker's side (`Connection.Close`, EOF, heartbeat timeout): the socket
lingers until garbage collection, which then warns `unclosed <StreamWriter>`
(mosquito/aiormq#231, open). An engine that reconnects for weeks would leak one
socket per drop. aiormq takes a `transport_factory`; ours remembers the writer so
`AmqpConnection` can close it once the connection is lost. Remove when fixed upstream.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aio_pika
from aiormq.connection import TCPTransportFactory, TLSTransportFactory, TransportFactory
from yarl import URL


class _RememberingFactory(TransportFactory):
    def __init__(self, tls: bool) -> None:
        self._inner = TLSTransportFactory() if tls else TCPTransportFactory()
        self.writer: asyncio.StreamWriter | None = None

    async def create(self, url: URL, **kwargs: Any) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await self._inner.create(url, **kwargs)
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
