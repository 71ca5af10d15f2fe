"""MLLP framing: `0x0B message 0x1C 0x0D`, decoded incrementally from a byte stream.

`FrameDecoder` is pure (no sockets) so the awkward cases are easy to test:
frames split across reads, several frames in one read, bytes between frames
(skipped and counted), a start block inside an unfinished frame (the sender
gave up on it: dropped, and the new frame read).

Its work is linear in the bytes fed: each byte is examined once, by one regular
expression search that resumes where the last one stopped, and a run of start
blocks, with the frames between them that each abandons, is one match (issue 19:
a flood of 0x0B used to be rescanned from each start block to the end of the
read, 1 MiB in 32 s). `examined` counts the bytes looked at, so a test can hold
the decoder to that.

Two things end a stream, since reading on would be unbounded work or memory for
nothing: a frame over `max_frame_bytes` (`Oversized`, with its first bytes so the
receiver can address a reject) and more than `max_unframed_bytes` in a row
outside any frame (`Unframed`: the peer is not speaking MLLP). After either the
decoder takes no more bytes; the connection is to be closed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

START = b"\x0b"
END = b"\x1c\x0d"

# A start block and every frame it begins that a later start block abandons, in one match
# (a flood of 0x0B, or of 0x0B and a few bytes, is consumed at the regex engine's speed;
# possessive repeats never backtrack). Inside a frame the search also stops at an end block
# and at a 0x1C that ends the read (its 0x0D may come in the next); outside, the rest is skipped.
_CONTENT = rb"[^\x0b\x1c]*+(?:\x1c(?=[^\r])[^\x0b\x1c]*+)*+"  # no start block, no end block
_STARTS = rb"\x0b+(?:" + _CONTENT + rb"\x0b+)*+"
_INSIDE = re.compile(_STARTS + rb"|\x1c\r|\x1c\Z")
_OUTSIDE = re.compile(_STARTS)


def frame(payload: bytes) -> bytes:
    return START + payload + END


@dataclass(frozen=True, slots=True)
class Oversized:
    """A frame over the limit: `head` is its first `limit` bytes; the rest was not read."""

    head: bytes
    limit: int

    @property
    def reason(self) -> str:
        return f"message is over the limit of {self.limit} bytes"


@dataclass(frozen=True, slots=True)
class Unframed:
    """More than `limit` bytes in a row outside any frame: the peer is not speaking MLLP."""

    limit: int

    @property
    def reason(self) -> str:
        return f"more than {self.limit} bytes outside any MLLP frame (no 0x0B start block)"


Refusal = Oversized | Unframed


class FrameDecoder:
    def __init__(self, max_frame_bytes: int, max_unframed_bytes: int = 4096) -> None:
        self.max_frame_bytes = max_frame_bytes
        self.max_unframed_bytes = max_unframed_bytes
        self.skipped = 0  # bytes seen outside any frame
        self.abandoned = 0  # frames cut short by a new start block
        self.examined = 0  # bytes looked at: at most each byte fed, once
        self.refused: Refusal | None = None  # once set, the stream is over
        self._buf = bytearray()  # the frame so far, never more than max_frame_bytes
        self._inside = False
        self._gap = 0  # bytes outside frames since the last start block
        self._pending = False  # the last read ended with 0x1C: an end block, if 0x0D follows

    @property
    def in_frame(self) -> bool:
        """A frame has started and not ended (a receiver times how long it takes)."""
        return self._inside

    def feed(self, data: bytes) -> list[bytes | Refusal]:
        """Take the next bytes read; return every frame they complete, in order, and last
        the refusal if they break a limit (then nothing more is taken)."""
        out: list[bytes | Refusal] = []
        if self.refused is not None:
            return out
        pos, end = 0, len(data)
        if self._pending and pos < end:
            self._pending = False
            if data[0] == END[1]:
                self.examined += 1
                self._finish(out)
                pos = 1
            else:
                self._append(END[:1], 0, 1)
        while pos < end and self.refused is None:
            found = (_INSIDE if self._inside else _OUTSIDE).search(data, pos)
            stop = found.start() if found else end
            if self._inside:
                self._append(data, pos, stop)
            else:
                self._outside(stop - pos)
            if found is None or self.refused is not None:
                self.examined += end - pos
                break
            self.examined += found.end() - pos
            pos = found.end()
            if data[stop] == START[0]:
                self.abandoned += data.count(START, stop, pos) - (0 if self._inside else 1)
                self._inside, self._gap = True, 0
                self._buf.clear()
            elif pos - stop == len(END):
                self._finish(out)
            else:  # a 0x1C ending the read: decided by the next read's first byte
                self._pending = True
        if self.refused is not None:
            out.append(self.refused)
        return out

    def _outside(self, count: int) -> None:
        self.skipped += count
        self._gap += count
        if self._gap > self.max_unframed_bytes:
            self.refused = Unframed(self.max_unframed_bytes)

    def _append(self, data: bytes, begin: int, stop: int) -> None:
        room = self.max_frame_bytes - len(self._buf)
        if stop - begin > room:
            self.refused = Oversized(bytes(self._buf) + data[begin : begin + room], self.max_frame_bytes)
            self._buf.clear()
        else:
            self._buf += data[begin:stop]

    def _finish(self, out: list[bytes | Refusal]) -> None:
        self._inside = False
        out.append(bytes(self._buf))
        self._buf.clear()
