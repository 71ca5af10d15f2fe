"""The frame and idle timeouts of one MLLP connection, on one timer.

An `asyncio.timeout` around every read and every ACK written cost two timer
handles per message, about a tenth of `mllp.listen`'s CPU per message. Here
reading and writing only note the time, and one timer per connection wakes
every quarter of the shorter timeout: if a deadline has passed it aborts the
transport (a peer that reads nothing would hold a graceful close forever) and
keeps the reason for the log. So a connection is closed at most a quarter of
its timeout late.
"""

from __future__ import annotations

import asyncio


class ConnectionClock:
    def __init__(self, transport: asyncio.WriteTransport, frame_timeout: float, idle_timeout: float) -> None:
        self.frame_timeout, self.idle_timeout = frame_timeout, idle_timeout
        self.reason: str | None = None  # why the clock closed the connection, once it has
        self.busy = False  # the flow is processing a message: our time, not the peer's
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        self._active = self._loop.time()  # bytes received or an ACK written
        self._frame_started: float | None = None
        self._tick = min(frame_timeout, idle_timeout) / 4
        self._handle = self._loop.call_later(self._tick, self._check)

    def active(self, in_frame: bool) -> None:
        """Bytes came in or an answer went out; `in_frame`: a frame is started and unfinished.
        The frame's clock starts at its first start block and does not restart until it ends."""
        self._active = now = self._loop.time()
        if not in_frame:
            self._frame_started = None
        elif self._frame_started is None:
            self._frame_started = now

    def stop(self) -> None:
        self._handle.cancel()

    def _check(self) -> None:
        now = self._loop.time()
        if self._frame_started is not None and now - self._frame_started > self.frame_timeout:
            self.reason = f"a message was not finished within {self.frame_timeout:g}s"
        elif now - self._active > self.idle_timeout and not self.busy:
            self.reason = f"idle for {self.idle_timeout:g}s (nothing received, or an ACK not read)"
        else:
            self._handle = self._loop.call_later(self._tick, self._check)
            return
        self._transport.abort()
