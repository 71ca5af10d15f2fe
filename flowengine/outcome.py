"""The result of processing one source message through a flow."""

from __future__ import annotations

from dataclasses import dataclass

from flowengine.errors import MessageError
from flowengine.message import Exchange


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
