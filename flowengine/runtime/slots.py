"""How many messages of one source may be in flight at once.

asyncio.Semaphore does this, but it is on every message's path, and its `acquire`
is a coroutine that first asks `locked()`, which (Python 3.11) walks the waiters.
Here taking a free slot is a plain method call; only a source that has to wait
gets a future. A released slot goes straight to the first waiter, so a steady
stream of new arrivals cannot overtake a source that waits (what asyncio's
semaphore guarantees too).
"""

from __future__ import annotations

import asyncio
from collections import deque


class Slots:
    __slots__ = ("_free", "_waiters")

    def __init__(self, size: int) -> None:
        self._free = size
        self._waiters: deque[asyncio.Future[None]] = deque()

    def take(self) -> bool:
        """Take a slot if one is free now (and nobody waits for one)."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        return False

    async def acquire(self) -> None:
        """Take a slot, waiting for one if need be."""
        if self.take():
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiters.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():
                self.release()  # handed a slot in the same instant: pass it on
            else:
                self._waiters.remove(turn)
            raise

    def release(self) -> None:
        """Give the slot to the first waiter, else back to the pool."""
        while self._waiters:
            turn = self._waiters.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        self._free += 1
