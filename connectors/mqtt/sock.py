"""A socket wrapper that turns many small reads and writes into few system calls.

Reading: `fill` takes what the kernel holds (and what TLS has decrypted) in one
`recv`, and `next_packet` frames MQTT packets out of that buffer; the client
handles the common packets itself and hands paho the rest, so paho never reads
from the socket (it would read each packet with three or more `recv` calls).
Writing: the client's own packets and paho's queue collect here until `flush`,
which the client calls once per event-loop iteration, so the PUBACKs and
PUBLISHes of one iteration leave in one segment.

Bytes buffered here do not make the file descriptor readable, so the client asks
`pending()` before it waits for the descriptor again.
"""

from __future__ import annotations

import contextlib
import socket
import ssl

READ_SIZE = 65536
_WOULD_BLOCK = (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError)
_MAX_LENGTH_BYTES = 4  # MQTT's remaining length has at most four bytes


class MalformedStream(ValueError):
    """The bytes from the broker are not MQTT framing."""


class BufferedSocket:
    """What paho sees as its socket (paho's `SocketLike`: send, close, fileno, setblocking)."""

    __slots__ = ("_rbuf", "_rpos", "_wbuf", "raw")

    def __init__(self, raw: socket.socket) -> None:
        self.raw = raw
        self._rbuf = bytearray()
        self._rpos = 0
        self._wbuf = bytearray()

    # --- reading ------------------------------------------------------------------
    def fill(self) -> bool:
        """Add what can be read without waiting to the buffer. False at end of file (the
        buffer may still hold whole packets); a broken connection raises OSError."""
        try:
            data = self.raw.recv(READ_SIZE)
        except _WOULD_BLOCK:
            return True
        if not data:
            return False
        self._rbuf += data
        if isinstance(self.raw, ssl.SSLSocket):  # decrypted bytes do not show on the descriptor
            while left := self.raw.pending():
                self._rbuf += self.raw.recv(left)
        return True

    def next_packet(self) -> tuple[int, bytes] | None:
        """The next whole packet as (fixed header byte, the rest after the length), or None
        until more bytes arrive. Raises MalformedStream on a length of more than four bytes."""
        buf, pos = self._rbuf, self._rpos
        end = len(buf)
        size, shift, at = 0, 0, pos + 1
        while True:
            if at >= end:
                return None
            byte = buf[at]
            at += 1
            size |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
            if shift >= 7 * _MAX_LENGTH_BYTES:
                raise MalformedStream("remaining length of more than four bytes")
        stop = at + size
        if stop > end:
            return None
        header, packet = buf[pos], bytes(buf[at:stop])
        if stop == end:
            buf.clear()
            self._rpos = 0
        else:
            self._rpos = stop
            if stop > READ_SIZE:  # keep the buffer from growing with what is consumed
                del buf[:stop]
                self._rpos = 0
        return header, packet

    def pending(self) -> int:
        """Bytes read from the socket but not yet taken as packets."""
        return len(self._rbuf) - self._rpos

    # --- writing ------------------------------------------------------------------
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
