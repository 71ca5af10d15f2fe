"""What the stateful patterns (aggregate, resequence, saga) share: messages kept in the
engine's store, a background ticker, and the backoff between delivery attempts.

A message is stored as its body bytes plus a small JSON envelope (id, content
type, headers, trace context), enough to send it on after a restart exactly as
it arrived. Transport attributes are not kept: they describe the delivery that
brought the message in, which is over once the message is stored and acked.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from flowengine.core.message import Message
from flowengine.errors import BadMessage

log = logging.getLogger("flowengine.patterns")

MAX_BACKOFF = 30.0
LEASE = 30.0
"""Seconds a node holds the work it claimed (a group, a stream's head) while sending it. Another
runtime of the same flow (during a hot replace) leaves it alone meanwhile; after a crash it is
free again once the lease ran out."""


def envelope(msg: Message) -> str:
    """The JSON envelope stored beside a message's body."""
    meta = {"id": msg.id, "content_type": msg.content_type, "headers": msg.headers, "traceparent": msg.traceparent}
    return orjson.dumps(meta).decode()


def restore(meta: str, body: bytes) -> Message:
    """The message `envelope` and its body describe."""
    m = orjson.loads(meta)
    return Message(
        bytes(body), id=m["id"], content_type=m["content_type"], headers=m["headers"], traceparent=m["traceparent"]
    )


def body_value(msg: Message) -> Any:
    """A message body as an element of a collection: its JSON value, or its text if not JSON."""
    if "json" in msg.content_type or msg.content_type == "application/octet-stream":
        try:
            return msg.json
        except BadMessage:
            pass
    return msg.text


def backoff(attempts: int) -> float:
    """Seconds before retrying a delivery that failed `attempts` times: 0.5 s doubling, capped."""
    return min(MAX_BACKOFF, 0.5 * 2 ** max(attempts - 1, 0))


class Ticker:
    """Calls `tick` every `interval` seconds from `start` until `stop`, logging (not
    propagating) its failures, so one bad tick never ends a node's timeouts or retries."""

    def __init__(self, label: str, interval: float, tick: Callable[[], Awaitable[None]]) -> None:
        self.label = label
        self.interval = interval
        self.tick = tick
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"ticker {self.label}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.tick()
            except Exception:
                log.exception("%s: timer task failed; trying again in %.2fs", self.label, self.interval)


def tick_interval(timeout: float | None) -> float:
    """How often to look for due work: a quarter of the shortest timeout, between 20 ms and 1 s."""
    return 1.0 if timeout is None else min(1.0, max(0.02, timeout / 4))
