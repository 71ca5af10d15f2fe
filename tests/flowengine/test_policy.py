"""Retry with backoff and circuit breaking, against a real (scripted) HTTP service."""

from __future__ import annotations

import asyncio

import pytest

from connectors.memory import hub_of
from flowengine.compile.policy import CircuitBreaker, RetryPolicy
from flowengine.core.durations import seconds
from flowengine.core.message import Message
from tests.conftest import codes, compile_ok


def relay(url: str, policy: str) -> str:
    return f"""
flow relay {{
  source in = memory.in()
  sink call = http.request(url: "{url}/x", timeout: 2, {policy})
  sink out = memory.out()
  sink failed = memory.out()
  in -> call -> out
  on error call -> failed
}}"""


async def test_retry_recovers_from_transient_5xx(engine, upstream):
    service, url = upstream
    service.statuses = [500, 503, 200]
    await engine.deploy(compile_ok(relay(url, 'retry: {attempts: 3, delay: "5ms"}')))
    outcome = await hub_of(engine.services).send("in", {"n": 1})
    assert outcome.ok and not outcome.handled
    assert len(service.calls) == 3
    assert [m.json for m in hub_of(engine.services).received("out")] == [{"n": 1}]


async def test_retry_exhausted_goes_to_error_route_with_attempt_count(engine, upstream):
    service, url = upstream
    service.statuses = [500]
    await engine.deploy(compile_ok(relay(url, 'retry: {attempts: 4, delay: "1ms"}')))
    outcome = await hub_of(engine.services).send("in", {"n": 1})
    assert outcome.handled and len(service.calls) == 4
    (failed,) = hub_of(engine.services).received("failed")
    assert failed.headers["error-attempts"] == "4"
    assert failed.headers["error-type"] == "delivery_failed"


async def test_errors_that_would_fail_again_are_not_retried(engine):
    await engine.deploy(compile_ok("""
flow v {
  source in = memory.in()
  transform parse = json.map(retry: {attempts: 5, delay: "1ms", on: ["delivery_failed", "node_failed"]}) { n: body.n }
  sink out = memory.out()
  sink failed = memory.out()
  in -> parse -> out
  on error parse -> failed
}"""))
    outcome = await hub_of(engine.services).send("in", Message(b"not json"))
    assert outcome.handled  # bad_message is not in `on`: one try only
    assert hub_of(engine.services).received("failed")[0].headers["error-attempts"] == "1"


async def test_circuit_opens_fails_fast_then_probes_and_closes(engine, upstream):
    service, url = upstream
    service.statuses = [500, 500, 200]
    await engine.deploy(compile_ok(relay(url, 'circuit_breaker: {failures: 2, window: "10s", reset: "200ms"}')))
    hub = hub_of(engine.services)
    first = [await hub.send("in", {"n": i}) for i in range(2)]
    assert all(o.handled for o in first) and len(service.calls) == 2
    fast = await hub.send("in", {"n": 2})  # open: the service is not called
    assert fast.handled and len(service.calls) == 2
    assert hub.received("failed")[-1].headers["error-message"] == "circuit open: failing fast until the next probe"
    await asyncio.sleep(0.25)  # the timer under test: past the 200 ms reset period, one probe goes through
    probe = await hub.send("in", {"n": 3})
    assert probe.ok and not probe.handled and len(service.calls) == 3
    assert engine.flows["relay"].flow.info("call").policy.breaker.state == "closed"


async def test_breaker_waiting_mode_holds_messages_until_the_probe():
    breaker = CircuitBreaker(failures=1, reset=0.05, wait_when_open=True)
    breaker.record(ok=False)
    assert breaker.state == "open"
    await asyncio.wait_for(breaker.admit(), 1)  # waits for half-open, then is the probe
    assert breaker.state == "half_open"
    breaker.record(ok=True)
    assert breaker.state == "closed"


def test_backoff_grows_exponentially_and_is_capped():
    policy = RetryPolicy(attempts=10, delay=0.1, max_delay=1.0, multiplier=2, jitter=False)
    assert [policy.backoff(n) for n in range(1, 6)] == [0.1, 0.2, 0.4, 0.8, 1.0]
    jittered = RetryPolicy(attempts=10, delay=0.1, max_delay=1.0)
    assert all(0 <= jittered.backoff(3) <= 0.4 for _ in range(100))


@pytest.mark.parametrize(("text", "value"), [("250ms", 0.25), ("5s", 5), ("2m", 120), ("24h", 86400), (3, 3.0)])
def test_durations(text, value):
    assert seconds(text) == value


def test_policy_options_are_checked_at_compile_time():
    base = 'flow f {\n  source in = memory.in(%s)\n  sink out = memory.out(%s)\n  in -> out\n}'
    assert codes(base % ("", "retry: {attempts: 3}")) == []
    assert codes(base % ("", 'retry: {attempts: 3, delay: "soon"}')) == ["E103"]
    assert codes(base % ("", "retry: {tries: 3}")) == ["E103"]
    assert codes(base % ("retry: {attempts: 3}", "")) == ["E102"]  # sources do not retry: their broker redelivers


FLOW_DEFAULT = """flow billing "Bills" (retry: {attempts: 3, delay: "1ms"}) {
  source in = memory.in()
  sink call = http.request(url: "%s/x", timeout: 2)
  sink once = memory.out(retry: {attempts: 1})
  in -> call -> once
}"""


async def test_flow_wide_retry_is_the_default_of_every_node_without_its_own(engine, upstream):
    service, url = upstream
    service.statuses = [503, 500, 200]
    flow = compile_ok(FLOW_DEFAULT % url)
    assert flow.info("call").policy.retry.attempts == 3  # the flow's default
    assert flow.info("once").policy.retry.attempts == 1  # its own wins
    assert flow.info("in").policy is None  # sources are redelivered by their broker instead
    await engine.deploy(flow)
    outcome = await hub_of(engine.services).send("in", {"n": 1})
    assert outcome.ok and len(service.calls) == 3


def test_flow_options_are_checked():
    from flowengine.compile.compiler import compile_text

    def messages(text: str) -> list[str]:
        return [f"{d.code} {d.message}" for d in compile_text(text, "t.flow", env={}).diagnostics]

    body = ' {\n  source in = memory.in()\n  sink out = memory.out()\n  in -> out\n}'
    assert messages('flow f (retri: {attempts: 2})' + body) == ["E102 option 'retri' not recognised by a flow"]
    assert messages('flow f (retry: {attempts: 0})' + body) == ["E103 option 'retry['attempts']' of 'flow': 0 is less than the minimum of 1"]


def test_flow_options_format_canonically_and_stay_put():
    from dsl.formatter import format_text

    text = FLOW_DEFAULT.replace('(retry: {attempts: 3, delay: "1ms"})', '(retry:  {attempts: 3,delay: "1ms"})') % "http://h"
    once = format_text(text, "t.flow")
    assert '(retry: {attempts: 3, delay: "1ms"}) {' in once.splitlines()[0]
    assert format_text(once, "t.flow") == once
