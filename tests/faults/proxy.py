"""A TCP relay between an engine and a shared broker, for network faults that touch only the engine.

The brokers on this machine are shared with other test sessions, so a test never
restarts them: it points the engine at a `FaultProxy` and breaks the network there.

    reset()       every relayed connection is reset (RST), as a crashed peer or a firewall does
    close()       every relayed connection is closed (FIN), as a broker that exits does
    blackhole()   relayed connections stay open but nothing is forwarded any more, either way
                  (a half-open connection: a cable pulled, a NAT entry expired); new
                  connections are relayed normally
    refuse()      new connections are reset at once, as while a broker restarts (counted in
                  `refused`, so a test can wait for a number of failed attempts)
    accept()      new connections are relayed again
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct


class FaultProxy:
    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.target_port = target_port
        self.port = 0
        self.accepted = 0  # connections relayed so far
        self.refused = 0
        self.refusing = False
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()

    async def __aenter__(self) -> FaultProxy:
        self._server = await asyncio.start_server(self._relay, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()
        self.reset()
        async with asyncio.timeout(5):  # the relays end once their sockets are gone
            while self._links:
                await asyncio.sleep(0.01)

    def refuse(self) -> None:
        self.refusing = True

    def accept(self) -> None:
        self.refusing = False

    def reset(self) -> None:
        for link in list(self._links):
            link.end(reset=True)

    def close(self) -> None:
        for link in list(self._links):
            link.end(reset=False)

    def blackhole(self) -> None:
        for link in list(self._links):
            link.blackholed = True

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        if self.refusing:
            self.refused += 1
            _Link(client_w).end(reset=True)
            return
        try:
            broker_r, broker_w = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            client_w.transport.abort()
            return
        self.accepted += 1
        link = _Link(client_w, broker_w)
        self._links.add(link)
        try:
            await asyncio.gather(link.pipe(client_r, broker_w), link.pipe(broker_r, client_w))
        finally:
            self._links.discard(link)
            link.end(reset=False)


class _Link:
    """One relayed connection: the engine's side and the broker's."""

    def __init__(self, *writers: asyncio.StreamWriter) -> None:
        self.writers = writers
        self.blackholed = False

    async def pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                if not self.blackholed:  # swallowed: neither side hears of it, nor of an end
                    writer.write(data)
                    await writer.drain()
        if not self.blackholed:
            writer.transport.abort()

    def end(self, *, reset: bool) -> None:
        for writer in self.writers:
            sock = writer.get_extra_info("socket")
            if reset and sock is not None:  # linger 0: close() sends RST instead of FIN
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
            else:
                writer.close()
