"""The result of processing one source message through a flow."""

from __future__ import annotations

from dataclasses import dataclass

from flowengine.core.message import Exchange, Message
from flowengine.errors import MessageError


@dataclass(slots=True)
class Outcome:
    """`ok` means every path finished (possibly via an error route): the source may ack.

    `error` is the first failure seen, also set when an error route handled it, so an
    HTTP source can answer with its status when no `http.reply` was reached.
    """

    ok: bool
    exchange: Exchange
    error: MessageError | None = None
    handled: bool = False

    @property
    def reply(self) -> Message | None:
        """The reply the source may send, or None when it must answer the error instead.

        A reply that one path built does not speak for another path that failed: it counts
        only when no path failed, or, when an error route handled the failure, only if that
        route built it (it carries the route's `error-node` header). So an HTTP 2xx, an MLLP
        AA built by `hl7.ack`, always means every path finished as asked.
        """
        reply = self.exchange.reply
        if reply is None or not self.ok:
            return None
        if self.error is None or "error-node" in reply.headers:
            return reply
        return None
