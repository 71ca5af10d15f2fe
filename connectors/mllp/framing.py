"""MLLP framing: `0x0B message 0x1C 0x0D`, decoded incrementally from a byte stream.

`FrameDecoder` is pure (no sockets) so the awkward cases are easy to test:
frames split across reads, several frames in one read, bytes between frames
(skipped and counted), a start block inside an unfinished frame (the sender
gave up on it: dropped, and the new frame read), and frames over the size
limit (read to their end and reported as `Oversized` with their first bytes,
so the receiver can still answer with a reject that names the message).
"""

from __future__ import annotations

from dataclasses import dataclass

START = b"\x0b"
END = b"\x1c\x0d"


def frame(payload: bytes) -> bytes:
    return START + payload + END


@dataclass(frozen=True, slots=True)
class Oversized:
    """A frame over the limit: `head` is its first `limit` bytes, `size` its full length."""

    head: bytes
    size: int


class FrameDecoder:
    def __init__(self, max_frame_bytes: int) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.skipped = 0  # bytes seen outside any frame
        self.abandoned = 0  # frames cut short by a new start block
        self._buf = bytearray()  # the frame so far, at most max_frame_bytes of it
        self._size = 0  # the frame's full length so far
        self._inside = False
        self._pending = False  # the last read ended with 0x1C: an end block, if 0x0D follows

    def feed(self, data: bytes) -> list[bytes | Oversized]:
        """Take the next bytes read; return every frame they complete, in order."""
        out: list[bytes | Oversized] = []
        pos = 0
        while pos < len(data):
            if self._inside:
                pos = self._frame_bytes(data, pos, out)
                continue
            start = data.find(START, pos)
            if start < 0:
                self.skipped += len(data) - pos
                break
            self.skipped += start - pos
            self._inside, self._size, pos = True, 0, start + 1
            self._buf.clear()
        return out

    def _frame_bytes(self, data: bytes, pos: int, out: list[bytes | Oversized]) -> int:
        if self._pending:
            self._pending = False
            if data[pos] == END[1]:
                self._finish(out)
                return pos + 1
            self._append(END[:1])
        end, start = data.find(END, pos), data.find(START, pos)
        if start >= 0 and (end < 0 or start < end):
            self.abandoned += 1
            self._inside = False
            return start
        if end >= 0:
            self._append(data[pos:end])
            self._finish(out)
            return end + len(END)
        chunk = data[pos:]
        if chunk.endswith(END[:1]):
            self._pending, chunk = True, chunk[:-1]
        self._append(chunk)
        return len(data)

    def _append(self, chunk: bytes) -> None:
        self._size += len(chunk)
        room = self.max_frame_bytes - len(self._buf)
        if room > 0:
            self._buf += chunk[:room]

    def _finish(self, out: list[bytes | Oversized]) -> None:
        self._inside = False
        payload = bytes(self._buf)
        self._buf.clear()
        out.append(payload if self._size <= self.max_frame_bytes else Oversized(payload, self._size))
