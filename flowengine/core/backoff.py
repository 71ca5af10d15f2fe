"""Exponential backoff with jitter, for whatever reconnects or retries on its own schedule.

Attempt n (0-based) waits a random time between half and all of
`initial * factor**n`, capped at `maximum`: doubling, so a broker that is down
is not hammered, and half of it random, so engines that lost the same broker
do not come back in step. Connectors use it for reconnection; node retries use
the full-jitter `RetryPolicy` of `flowengine.compile.policy`, configured per flow.

The defaults are the reconnection schedule: 0.2 s doubling, capped at 5 s. The cap
is what an outage costs after it ends: an engine whose broker was away for minutes
tries again at most 5 s after the broker is back, not half a minute. At one attempt
every 2.5-5 s per connection, a broker that stays down is not hammered.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    initial: float = 0.2
    factor: float = 2.0
    maximum: float = 5.0

    def delay(self, attempt: int) -> float:
        ceiling = min(self.maximum, self.initial * self.factor**attempt)
        return ceiling * random.uniform(0.5, 1.0)
