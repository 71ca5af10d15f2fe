"""Reconnect backoff: doubling, capped, half of it random."""

from __future__ import annotations

from flowengine.core.backoff import Backoff


def test_delay_doubles_is_capped_and_keeps_half_of_its_ceiling():
    backoff = Backoff(initial=0.2, maximum=1.0)
    for attempt, ceiling in [(0, 0.2), (1, 0.4), (2, 0.8), (3, 1.0), (10, 1.0)]:
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1  # jittered


def test_reconnection_tries_again_within_5_s_however_long_the_outage():
    """The default schedule (reconnection's): after an outage of any length, the next attempt
    is at most 5 s away, so traffic resumes within seconds of the broker's return."""
    backoff = Backoff()
    assert backoff.delay(0) <= 0.2
    assert all(2.5 <= backoff.delay(attempt) <= 5.0 for attempt in range(5, 60) for _ in range(20))
