"""`aggregate`: collect messages by a correlation key until the group is complete, then send one.

A group completes when it holds `size` messages, when `complete_when` holds over
what it collected, or (if neither is given) when its `timeout` passes. Groups
live in the engine's store (`_groups`): an input is acknowledged as soon as it is
stored, and the group is sent on by the aggregate itself, retried with backoff
until every path after it finished; only then is it forgotten. A group whose
`timeout` passes before `size`/`complete_when` is met goes to the error route
with what it had. Redelivered members are dropped, so no group is sent twice.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

from flowengine.compile.build import BuildContext
from flowengine.compile.spec import Field, KindSpec, MappingUse, Role
from flowengine.core.durations import SCHEMA as DURATION
from flowengine.core.durations import seconds
from flowengine.core.message import Message
from flowengine.core.nodes import AsyncNode, Emit, Transform
from flowengine.core.outcome import Outcome
from flowengine.errors import BadMessage, MessageError, NodeFailed
from flowengine.expressions.compiled import Expression
from flowengine.kinds import json_map
from flowengine.kinds.patterns._durable import Ticker, body_value, log, tick_interval
from flowengine.kinds.patterns._groups import COMPLETE, EXPIRED, Group, Groups
from flowengine.kinds.patterns._values import per_message

PART_HEADERS = ("split-index", "split-count")  # describe one part, not the whole the group rebuilds
PURGE_EVERY = 60.0

Size = Callable[[Message], int]


class Aggregate(AsyncNode):
    def __init__(
        self,
        name: str,
        flow: str,
        key: Expression,
        size: Size | None,
        condition: Expression | None,
        timeout: float | None,
        since: str,
        mapper: Transform | None,
        remember: float,
    ) -> None:
        super().__init__(name, "aggregate")
        self.flow = flow
        self.key = key
        self.size = size
        self.condition = condition
        self.timeout = timeout
        self.since = since
        self.mapper = mapper
        self.remember = remember
        self.ticker = Ticker(f"flow {flow}: aggregate {name}", tick_interval(timeout), self._tick)
        self._emit: Emit | None = None
        self._groups: Groups | None = None
        self._next_purge = 0.0

    def attach(self, emit: Emit) -> None:
        self._emit = emit

    async def open(self, services: Any) -> None:
        self._groups = Groups(services.store, self.flow, self.name)
        self.ticker.start()  # its first tick also sends groups a previous run left undelivered

    async def close(self) -> None:
        await self.ticker.stop()

    async def process(self, msg: Message) -> list[Message] | None:
        assert self._groups is not None, "aggregate used before open()"
        key = self.key(msg)
        if key is None or key == "":
            raise BadMessage(f"correlation key `{self.key.source}` is empty for this message")
        expected = self.size(msg) if self.size else None

        def decide(count: int, members: Callable[[], list[Message]]) -> bool:
            if expected is not None and count >= expected:
                return True
            return self.condition is not None and bool(self.condition(self._collected(str(key), members(), True)))

        added = self._groups.add(str(key), msg, time.time(), decide)
        if added is None:
            log.info("flow %s: %s dropped %s, a member of a group already collected", self.flow, self.name, msg.id)
            return None
        gid, complete = added
        if complete:
            await self._deliver(gid)
        return []  # stored: the input is done; the group goes on by itself

    async def _tick(self) -> None:
        assert self._groups is not None
        now = time.time()
        if self.timeout is not None:
            on_time = self.size is None and self.condition is None  # the timeout is the completion
            self._groups.close_overdue(now - self.timeout, self.since, COMPLETE if on_time else EXPIRED)
        for gid in self._groups.due(now):
            await self._deliver(gid)
        if now >= self._next_purge:
            self._groups.forget(now - self.remember)
            self._next_purge = now + PURGE_EVERY

    async def _deliver(self, gid: int) -> None:
        """Send a group on; forget it once every path finished, else retry it later."""
        assert self._groups is not None
        group = self._groups.claim(gid, time.time())
        if group is None:
            return  # being sent already, or not due
        outcome = await self._send(group)
        if outcome.ok:
            self._groups.delivered(group, time.time())
            return
        wait = self._groups.failed(gid, time.time())
        error = outcome.error.message if outcome.error else "failed"
        log.warning(
            "flow %s: %s could not send group '%s' (%s); retrying in %.1fs",
            self.flow,
            self.name,
            group.key,
            error,
            wait,
            extra={"flow": self.flow, "node": self.name, "message_id": group.message_id},
        )

    async def _send(self, group: Group) -> Outcome:
        assert self._emit is not None, "aggregate used before attach()"
        complete = group.state == COMPLETE
        collected = self._collected(group.key, group.members, complete, group.message_id)
        if not complete:
            return await self._emit(collected, self._short(group))
        if self.mapper is None:
            return await self._emit(collected)
        try:
            built = self.mapper.process(collected)
        except MessageError as err:
            return await self._emit(collected, err)
        assert isinstance(built, Message)
        return await self._emit(built)

    def _short(self, group: Group) -> NodeFailed:
        have = len(group.members)
        try:
            of = f" of {self.size(group.members[-1])}" if self.size else ""
        except MessageError:
            of = ""  # the size was unreadable: the timeout is the news here
        return NodeFailed(f"group '{group.key}' timed out after {self.timeout:g}s with {have}{of} message(s)")

    def _collected(self, key: str, members: list[Message], complete: bool, message_id: str | None = None) -> Message:
        """The group as one message: the members' bodies as a JSON list, the first one's headers."""
        headers = {k: v for k, v in members[0].headers.items() if k not in PART_HEADERS}
        headers.update(
            {"aggregate-key": key, "aggregate-size": str(len(members)), "aggregate-complete": str(complete).lower()}
        )
        return Message(
            json=[body_value(m) for m in members], headers=headers, id=message_id, traceparent=members[0].traceparent
        )


def build(ctx: BuildContext) -> Aggregate:
    if not {"size", "complete_when", "timeout"} & ctx.options.keys():
        raise ctx.fail("'aggregate' needs a completion: 'size', 'complete_when' or 'timeout'", code="E104")
    condition = ctx.option_expression("complete_when") if "complete_when" in ctx.options else None
    mapper = json_map.build(dataclasses.replace(ctx, options={"mode": "replace"})) if ctx.mapping else None
    timeout = seconds(ctx.options["timeout"]) if "timeout" in ctx.options else None
    return Aggregate(
        ctx.name,
        ctx.flow,
        ctx.option_expression("key"),
        per_message(ctx, "size", int, "a whole number") if "size" in ctx.options else None,
        condition,
        timeout,
        ctx.options["timeout_from"],
        mapper,
        seconds(ctx.options["remember"]),
    )


SPEC = KindSpec(
    name="aggregate",
    role=Role.TRANSFORM,
    summary="Collect messages by a correlation key until complete (size, condition, timeout); send one.",
    description=(
        "Groups are kept in the engine's store: an input is acknowledged once stored, a restart loses no "
        "partial group, and a redelivered member of a group already sent is dropped. The group's message has "
        "the members' bodies as a JSON list (`body`), the first member's headers and `aggregate-key`, "
        "`aggregate-size`, `aggregate-complete`; the mapping block, if any, builds the output from it. "
        "With `size` or `complete_when`, a group whose `timeout` passes goes to the error route with what "
        "it had; with `timeout` alone, the timeout completes the group. A group whose paths fail is retried "
        "with backoff (0.5 s doubling to 30 s) until they succeed."
    ),
    build=build,
    mapping=MappingUse.OPTIONAL,
    options={
        "key": Field(
            {"type": "string", "minLength": 1},
            "Expression of the correlation key",
            default="headers['split-id']",
            expression=True,
        ),
        "size": Field(
            {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "string", "minLength": 1}]},
            "Complete at this many messages: a number, or an expression on each message",
            examples=(10, "headers['split-count']"),
        ),
        "complete_when": Field(
            {"type": "string", "minLength": 1},
            "Expression over the group (`body` is the list collected so far); complete when truthy",
            expression=True,
            examples=("body | selectattr('last') | list",),
        ),
        "timeout": Field(DURATION, "Time a group may stay open (see `timeout_from`)", examples=("30s",)),
        "timeout_from": Field(
            {"enum": ["first", "last"]}, "Count the timeout from the first or the last message", default="first"
        ),
        "remember": Field(DURATION, "How long ids of sent members are kept to drop their redeliveries", default="24h"),
    },
)
