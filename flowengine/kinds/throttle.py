"""`throttle`: limit the rate of messages, for the whole flow or per key.

A token bucket per key: a message waits for a token rather than being dropped,
so a throttle slows its source down (back pressure) instead of losing work.
The number of keys tracked is bounded; the least recently used are forgotten.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict

from flowengine.compile.build import BuildContext
from flowengine.compile.spec import Field, KindSpec, Role
from flowengine.core.durations import SCHEMA as DURATION
from flowengine.core.durations import seconds
from flowengine.core.message import Message
from flowengine.core.nodes import AsyncNode
from flowengine.expressions.compiled import Expression

MAX_KEYS = 10_000


class _Bucket:
    __slots__ = ("tokens", "updated")

    def __init__(self, tokens: float) -> None:
        self.tokens = tokens
        self.updated = time.monotonic()


class Throttle(AsyncNode):
    def __init__(self, name: str, rate: float, per: float, burst: float, key: Expression | None) -> None:
        super().__init__(name, "throttle")
        self.per_second = rate / per
        self.burst = burst
        self.key = key
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _bucket(self, key: str) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst)
            if len(self._buckets) > MAX_KEYS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket

    async def process(self, msg: Message) -> Message:
        bucket = self._bucket(str(self.key(msg)) if self.key else "")
        while True:
            now = time.monotonic()
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.per_second)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return msg
            await asyncio.sleep((1 - bucket.tokens) / self.per_second)


def build(ctx: BuildContext) -> Throttle:
    key = ctx.option_expression("key") if "key" in ctx.options else None
    rate = float(ctx.options["rate"])
    return Throttle(ctx.name, rate, seconds(ctx.options["per"]), float(ctx.options.get("burst", rate)), key)


SPEC = KindSpec(
    name="throttle",
    role=Role.TRANSFORM,
    summary="Let at most `rate` messages per `per` through (per key if given); the rest wait.",
    build=build,
    options={
        "rate": Field({"type": "number", "exclusiveMinimum": 0}, "Messages allowed per period", required=True),
        "per": Field(DURATION, "The period", default="1s"),
        "burst": Field({"type": "number", "minimum": 1}, "Bucket size: how many may pass at once (default: rate)"),
        "key": Field({"type": "string"}, "Expression: throttle each value separately (e.g. per customer)",
                     expression=True),
    },
)  # fmt: skip
