"""A socket wrapper that turns paho's many small reads and writes into few system calls.

paho reads each packet with at least three `recv` calls (command byte, length,
rest) and sends each packet with its own `send`: up to eight system calls per
relayed message. `BufferedSocket` reads what the kernel holds in one `recv` and
serves paho's small reads from memory; it collects paho's sends until `flush`,
which the client calls once per event-loop iteration, so the PUBACKs and
PUBLISHes of one iteration leave in one segment.

Bytes buffered here (or decrypted and held by TLS) do not make the file
descriptor readable, so the client asks `pending()` after each read.
"""

from __future__ import annotations

import contextlib
import socket
import ssl

READ_SIZE = 65536
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class BufferedSocket:
    """What paho sees as its socket (paho's `SocketLike`: recv, send, close, fileno, setblocking)."""

    __slots__ = ("_rbuf", "_rpos", "_wbuf", "raw")

    def __init__(self, raw: socket.socket) -> None:
        self.raw = raw
        self._rbuf = b""
        self._rpos = 0
        self._wbuf = bytearray()

    def recv(self, size: int) -> bytes:
        """Up to `size` bytes; raises BlockingIOError (or TLS's want-read) when none are available."""
        pos = self._rpos
        if pos >= len(self._rbuf):
            data = self.raw.recv(max(size, READ_SIZE))
            if len(data) <= size:
                return data
            self._rbuf, self._rpos = data, size
            return data[:size]
        end = pos + size
        chunk = self._rbuf[pos:end]
        if end >= len(self._rbuf):
            self._rbuf, self._rpos = b"", 0
        else:
            self._rpos = end
        return chunk

    def pending(self) -> int:
        """Bytes readable without waiting for the file descriptor."""
        tls = self.raw.pending() if isinstance(self.raw, ssl.SSLSocket) else 0
        return len(self._rbuf) - self._rpos + tls

    def send(self, data: bytes | bytearray) -> int:
        """Accept everything now; `flush` writes it."""
        self._wbuf += data
        return len(data)

    @property
    def unsent(self) -> int:
        return len(self._wbuf)

    def flush(self) -> bool:
        """Write what the kernel takes without blocking; True when nothing is left.
        A broken connection raises OSError."""
        if self._wbuf:
            try:
                sent = self.raw.send(self._wbuf)
            except _WOULD_BLOCK:
                return False
            del self._wbuf[:sent]
        return not self._wbuf

    def shutdown(self) -> None:
        """Cut the connection (both directions); the next read sees end of file."""
        with contextlib.suppress(OSError):
            self.raw.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.flush()  # a DISCONNECT paho just queued should still go out
        self.raw.close()

    def fileno(self) -> int:
        return self.raw.fileno()

    def setblocking(self, flag: bool) -> None:
        self.raw.setblocking(flag)
