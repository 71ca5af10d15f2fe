"""`wiretap`: pass each message on unchanged, and send a copy to another node on the side.

The copy is sent in the background: the main path never waits for it and never
fails because of it (a failure there is logged and counted at the tapped node).
The copy is not part of the source message's acknowledgement, so it is
at-most-once: a tap is for auditing and monitoring, not for data that must
arrive. At most `max_pending` copies are on their way at once; beyond that new
copies are dropped (counted, logged) rather than slowing the main path.
"""

from __future__ import annotations

import asyncio

from flowengine.compile.spec import Field, KindSpec, Role
from flowengine.core.message import Message
from flowengine.core.nodes import Call, Transform
from flowengine.errors import MessageError
from flowengine.kinds.patterns._durable import log

CLOSE_GRACE = 5.0


class Wiretap(Transform):
    def __init__(self, name: str, flow: str, to: str, max_pending: int) -> None:
        super().__init__(name, "wiretap")
        self.flow = flow
        self.to = to
        self.max_pending = max_pending
        self.dropped = 0  # copies not sent because too many were on their way
        self._call: Call | None = None
        self._pending: set[asyncio.Task[None]] = set()

    def bind(self, call: Call) -> None:
        self._call = call

    def process(self, msg: Message) -> Message:
        if len(self._pending) >= self.max_pending:
            self.dropped += 1
            log.warning(
                "flow %s: %s has %d copies on the way; copy of %s not sent to '%s'",
                self.flow,
                self.name,
                len(self._pending),
                msg.id,
                self.to,
            )
            return msg
        task = asyncio.get_running_loop().create_task(self._tap(msg.copy()))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return msg

    async def _tap(self, copy: Message) -> None:
        assert self._call is not None, "wiretap used before bind()"
        try:
            await self._call(self.to, copy)
        except MessageError as err:
            log.warning("flow %s: %s: copy of %s failed at '%s': %s", self.flow, self.name, copy.id, self.to, err)
        except Exception:  # never let a tap's surprise escape into an unwatched task
            log.exception("flow %s: %s: copy of %s failed at '%s'", self.flow, self.name, copy.id, self.to)

    async def close(self) -> None:
        """Let copies on their way finish (briefly), so a stop does not cut them off."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=CLOSE_GRACE)
        for task in self._pending:
            task.cancel()


SPEC = KindSpec(
    name="wiretap",
    role=Role.TRANSFORM,
    summary="Pass messages on unchanged and send a copy to another node without waiting for it.",
    description=(
        "The tapped node (and whatever follows it) runs in the background; its failures are logged and never "
        "fail the main path. Copies are at-most-once (not part of the acknowledgement)."
    ),
    build=lambda ctx: Wiretap(ctx.name, ctx.flow, ctx.options["to"], ctx.options["max_pending"]),
    calls=lambda options: [("to", options["to"])],
    options={
        "to": Field({"type": "string", "minLength": 1}, "The node that gets the copies", required=True),
        "max_pending": Field(
            {"type": "integer", "minimum": 1}, "Copies on their way at once before new ones are dropped", default=1000
        ),
    },
)
