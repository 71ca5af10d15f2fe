"""Node policies: retry with exponential backoff and jitter, and a circuit breaker.

Every node except sources accepts the options `retry` and `circuit_breaker`;
the compiler builds them into a `Policy` and the runtime wraps the node's work
in it. Which failures are worth another try is a property of the error, not of
the node: a timeout, a 5xx, a refused connection (`delivery_failed`,
`node_failed` on request) may pass; a body that is not JSON or fails its schema
will fail the same way every time, so it never retries.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from flowengine.compile.spec import Field, KindSpec, Role
from flowengine.core.durations import SCHEMA as DURATION
from flowengine.core.durations import seconds
from flowengine.errors import DeliveryFailed, MessageError

RETRYABLE_BY_DEFAULT = ("delivery_failed",)
ERROR_KINDS = ["bad_message", "validation", "too_large", "node_failed", "delivery_failed"]

RETRY_FIELD = Field(
    {
        "type": "object",
        "properties": {
            "attempts": {"type": "integer", "minimum": 1, "maximum": 1000},
            "delay": DURATION,
            "max_delay": DURATION,
            "multiplier": {"type": "number", "minimum": 1},
            "jitter": {"type": "boolean"},
            "on": {"type": "array", "items": {"enum": ERROR_KINDS}, "uniqueItems": True},
        },
        "required": ["attempts"],
        "additionalProperties": False,
    },
    "Retry a failing node: {attempts, delay (200ms), max_delay (30s), multiplier (2), jitter (true), "
    "on (error types; default [delivery_failed])}",
    examples=({"attempts": 5, "delay": "200ms", "max_delay": "10s"},),
)

BREAKER_FIELD = Field(
    {
        "type": "object",
        "properties": {
            "failures": {"type": "integer", "minimum": 1},
            "window": DURATION,
            "reset": DURATION,
            "when_open": {"enum": ["fail", "wait"]},
        },
        "required": ["failures"],
        "additionalProperties": False,
    },
    "Circuit breaker: open after {failures} within {window} (60s), fail fast (or wait) while open, "
    "probe again after {reset} (30s)",
    examples=({"failures": 5, "window": "30s", "reset": "10s"},),
)

POLICY_FIELDS = {"retry": RETRY_FIELD, "circuit_breaker": BREAKER_FIELD}

SIZE_FIELD = Field(
    {"type": "integer", "minimum": 1},
    "Largest message body accepted, in bytes; a larger one fails with too_large and goes to the error route",
)
SOURCE_FIELDS = {"max_message_bytes": SIZE_FIELD}
"""Options every source accepts, but those with a size limit of their own (`max_body_bytes`)."""


def common_fields(spec: KindSpec) -> dict[str, Field]:
    """Options the engine handles for every kind of a role: policies, source size limits."""
    if spec.role is not Role.SOURCE:
        return POLICY_FIELDS
    return {} if "max_body_bytes" in spec.options else SOURCE_FIELDS


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int
    delay: float = 0.2
    max_delay: float = 30.0
    multiplier: float = 2.0
    jitter: bool = True
    on: frozenset[str] = frozenset(RETRYABLE_BY_DEFAULT)

    @classmethod
    def from_options(cls, opts: dict[str, Any]) -> RetryPolicy:
        return cls(
            attempts=opts["attempts"],
            delay=seconds(opts.get("delay", 0.2)),
            max_delay=seconds(opts.get("max_delay", 30)),
            multiplier=float(opts.get("multiplier", 2)),
            jitter=opts.get("jitter", True),
            on=frozenset(opts.get("on", RETRYABLE_BY_DEFAULT)),
        )

    def backoff(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based): full jitter."""
        ceiling = min(self.max_delay, self.delay * self.multiplier ** (attempt - 1))
        return random.uniform(0, ceiling) if self.jitter else ceiling


class CircuitOpen(DeliveryFailed):
    """Raised without calling the node while its breaker is open."""


@dataclass
class CircuitBreaker:
    failures: int
    window: float = 60.0
    reset: float = 30.0
    wait_when_open: bool = False
    _failed_at: list[float] = field(default_factory=list)
    _opened_at: float | None = None
    _probing: bool = False

    @classmethod
    def from_options(cls, opts: dict[str, Any]) -> CircuitBreaker:
        return cls(
            failures=opts["failures"],
            window=seconds(opts.get("window", 60)),
            reset=seconds(opts.get("reset", 30)),
            wait_when_open=opts.get("when_open", "fail") == "wait",
        )

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "half_open" if time.monotonic() - self._opened_at >= self.reset else "open"

    async def admit(self) -> None:
        """Let a call through, or fail fast (or wait) while the circuit is open."""
        while True:
            state = self.state
            if state == "closed":
                return
            if state == "half_open" and not self._probing:
                self._probing = True  # exactly one probe at a time
                return
            if not self.wait_when_open:
                raise CircuitOpen("circuit open: failing fast until the next probe")
            assert self._opened_at is not None
            await asyncio.sleep(max(0.01, self._opened_at + self.reset - time.monotonic()))

    def record(self, ok: bool) -> None:
        now = time.monotonic()
        if ok:
            self._failed_at.clear()
            self._opened_at = None
            self._probing = False
            return
        if self._probing:  # the probe failed: stay open for another reset period
            self._probing = False
            self._opened_at = now
            return
        self._failed_at = [t for t in self._failed_at if now - t < self.window] + [now]
        if len(self._failed_at) >= self.failures:
            self._opened_at = now


@dataclass(frozen=True)
class Policy:
    retry: RetryPolicy | None = None
    breaker: CircuitBreaker | None = None

    @classmethod
    def from_options(cls, opts: dict[str, Any]) -> Policy | None:
        if "retry" not in opts and "circuit_breaker" not in opts:
            return None
        return cls(
            retry=RetryPolicy.from_options(opts["retry"]) if "retry" in opts else None,
            breaker=CircuitBreaker.from_options(opts["circuit_breaker"]) if "circuit_breaker" in opts else None,
        )

    async def run(self, call: Callable[[], Awaitable[Any]]) -> Any:
        """Call with the breaker and retries; the last error carries the attempt count."""
        attempt = 0
        first_failure: float | None = None
        while True:
            attempt += 1
            try:
                if self.breaker is not None:
                    await self.breaker.admit()
                result = await call()
            except MessageError as err:
                if self.breaker is not None and not isinstance(err, CircuitOpen):
                    self.breaker.record(ok=False)
                err.attempts = attempt
                first_failure = first_failure or err.first_failure
                err.first_failure = first_failure
                retry = self.retry
                if retry is None or attempt >= retry.attempts or err.kind not in retry.on:
                    raise
                await asyncio.sleep(retry.backoff(attempt))
                continue
            if self.breaker is not None:
                self.breaker.record(ok=True)
            return result
