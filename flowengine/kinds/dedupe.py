"""`dedupe`: the idempotent consumer. A message whose key was seen within `ttl` is dropped.

A key is remembered only when its message went through *every* path (the
exchange's final verdict): a message that failed and comes back redelivered is
not mistaken for a duplicate, so at-least-once is kept and repeats of
*delivered* messages are removed. While a message with the same key is still in
flight, a second one waits for its verdict rather than racing it. Keys live in
the engine's SQLite store, so they survive a restart. Drops are counted in the
node's `dropped` statistic.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from flowengine.compile.build import BuildContext
from flowengine.compile.spec import Field, KindSpec, Role
from flowengine.core.durations import SCHEMA as DURATION
from flowengine.core.durations import seconds
from flowengine.core.message import Message
from flowengine.core.nodes import AsyncNode
from flowengine.expressions.compiled import Expression
from flowengine.runtime.store import Store

SCHEMA = """
CREATE TABLE IF NOT EXISTS dedupe_keys (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    expires REAL NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX IF NOT EXISTS dedupe_keys_expires ON dedupe_keys (expires);
"""
_SWEEP_EVERY = 1000


class Dedupe(AsyncNode):
    def __init__(self, name: str, scope: str, key: Expression, ttl: float) -> None:
        super().__init__(name, "dedupe")
        self.scope = scope
        self.key = key
        self.ttl = ttl
        self._store: Store | None = None
        self._pending: dict[str, asyncio.Future[bool]] = {}
        self._writes = 0

    async def open(self, services: Any) -> None:
        self._store = services.store
        self._store.ensure_schema("dedupe", SCHEMA)

    def _seen(self, key: str) -> bool:
        assert self._store is not None
        rows = self._store.query("SELECT expires FROM dedupe_keys WHERE scope = ? AND key = ?", (self.scope, key))
        return bool(rows) and rows[0]["expires"] > time.time()

    def _remember(self, key: str) -> None:
        assert self._store is not None
        now = time.time()
        with self._store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO dedupe_keys VALUES (?, ?, ?)", (self.scope, key, now + self.ttl))
            self._writes += 1
            if self._writes % _SWEEP_EVERY == 0:
                db.execute("DELETE FROM dedupe_keys WHERE expires <= ?", (now,))

    async def process(self, msg: Message) -> Message | None:
        key = str(self.key(msg))
        while key in self._pending:
            if await asyncio.shield(self._pending[key]):
                return None  # the first one went through while this one waited
        if self._seen(key):
            return None
        verdict: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._pending[key] = verdict

        def done(ok: bool) -> None:
            try:
                if ok:
                    self._remember(key)
            finally:
                del self._pending[key]
                verdict.set_result(ok)

        msg.exchange.on_done.append(done)
        return msg


def build(ctx: BuildContext) -> Dedupe:
    return Dedupe(ctx.name, f"{ctx.flow}/{ctx.name}", ctx.option_expression("key"), seconds(ctx.options["ttl"]))


SPEC = KindSpec(
    name="dedupe",
    role=Role.BRANCH,
    summary="Idempotent consumer: drop a message whose key went through within `ttl`.",
    description=(
        "Keys are remembered in the engine's store only after their message finished every path, so "
        "a failed message that is redelivered is processed again, never lost."
    ),
    build=build,
    options={
        "key": Field({"type": "string", "minLength": 1}, "Expression giving the message's identity",
                     required=True, expression=True, examples=("body.id", "headers['message-id']")),
        "ttl": Field(DURATION, "How long a key is remembered", default="24h"),
    },
)  # fmt: skip
