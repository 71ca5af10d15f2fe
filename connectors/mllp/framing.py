"""MLLP framing: `0x0B message 0x1C 0x0D`, decoded incrementally from a byte stream.

`FrameDecoder` is pure (no sockets) so the awkward cases are easy to test:
frames split across reads, several frames in one read, bytes between frames
(skipped and counted), a start block inside an unfinished frame (the sender
gave up on it: dropped, and the new frame read).

Its work is linear in the bytes fed, and done by C-level bytes methods: the
stream is cut at each end block (found once, by `find` from where the last
search ended), and in each stretch before one, `rfind` finds the last start
block (where the current frame begins) and `count` the abandoned frames before
it, in that stretch only. So a frame costs a few passes over its bytes, and a
flood of start blocks, 0x1C bytes or both, with or without bytes between them,
is consumed at C speed (issue 19: the old decoder rescanned from each start
block to the end of the read, a 1 MiB flood in 32 s). `examined` counts the
bytes the end-block search has passed, so a test can hold the decoder to each
byte once.

Two things end a stream, since reading on would be unbounded work or memory for
nothing: a frame over `max_frame_bytes` (`Oversized`, with its first bytes so the
receiver can address a reject) and more than `max_unframed_bytes` in a row
outside any frame (`Unframed`: the peer is not speaking MLLP). After either the
decoder takes no more bytes; the connection is to be closed.
"""

from __future__ import annotations

from dataclasses import dataclass

START = b"\x0b"
END = b"\x1c\x0d"

_FS = END[0]
_CR = END[1]


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
        if self._pending and end:
            self._pending = False
            if data[0] == _CR:
                self.examined += 1
                self._finish(out)
                pos = 1
            else:
                self._append(END[:1], 0, 1)
        while pos < end and self.refused is None:
            found = data.find(END, pos)
            stop = found if found >= 0 else end - (data[end - 1] == _FS)  # a last 0x1C waits for its 0x0D
            self.examined += (found + len(END) if found >= 0 else end) - pos
            self._stretch(data, pos, stop)
            if self.refused is not None:
                break
            if found < 0:
                if stop < end:
                    self._pending = self._inside
                    if not self._inside:
                        self._outside(1)
                break
            if self._inside:
                self._finish(out)
            else:
                self._outside(len(END))
            pos = found + len(END)
        if self.refused is not None:
            out.append(self.refused)
        return out

    def _stretch(self, data: bytes, pos: int, stop: int) -> None:
        """Bytes with no end block: the frame's content, after the last start block if any."""
        last = data.rfind(START, pos, stop)
        if last >= 0:
            starts = data.count(START, pos, stop)
            if not self._inside:
                self._outside(data.find(START, pos, stop) - pos)
                starts -= 1
                if self.refused is not None:
                    return
            self.abandoned += starts
            self._inside, self._gap, pos = True, 0, last + 1
            self._buf.clear()
        if self._inside:
            self._append(data, pos, stop)
        else:
            self._outside(stop - pos)

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
