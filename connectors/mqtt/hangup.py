"""Noticing that a connection ended while its socket is not being read.

A subscription whose flow is saturated stops reading its socket (back pressure:
the broker and TCP hold what follows). End of file and a reset arrive through that
same read, so a broker that went away would go unnoticed until the keepalive ran
out, about a minute later. While reading is paused, `HangupWatch` asks the kernel
for the hang-up alone: an epoll instance registered for EPOLLRDHUP (the peer closed
its side: FIN), EPOLLHUP and EPOLLERR (reset, or both sides closed), but not for
EPOLLIN, so the data waiting in the socket does not wake it. The epoll instance's
own descriptor becomes readable when one of those happens, and the event loop
watches that descriptor like any socket.

epoll is Linux's; elsewhere `HangupWatch.supported` is false and a paused
connection's loss is noticed by the keepalive, as before.
"""

from __future__ import annotations

import asyncio
import select
from collections.abc import Callable

_HANGUP = getattr(select, "EPOLLRDHUP", 0) | getattr(select, "EPOLLHUP", 0) | getattr(select, "EPOLLERR", 0)


class HangupWatch:
    """Calls `on_hangup` once, on the loop thread, when the socket `fd` is closed or reset by
    its peer; `close()` stops watching (and is called before `on_hangup`)."""

    supported = hasattr(select, "epoll")

    def __init__(self, loop: asyncio.AbstractEventLoop, fd: int, on_hangup: Callable[[], None]) -> None:
        self._loop = loop
        self._on_hangup = on_hangup
        self._epoll: select.epoll | None = select.epoll(1)
        self._epoll.register(fd, _HANGUP)
        loop.add_reader(self._epoll.fileno(), self._fired)

    def _fired(self) -> None:
        if self._epoll is None:
            return
        self.close()
        self._on_hangup()

    def close(self) -> None:
        if self._epoll is not None:
            self._loop.remove_reader(self._epoll.fileno())
            self._epoll.close()
            self._epoll = None
