"""Fault tests: a downstream HTTP service that fails for a while, or for good; a poison message.

Messages come from the real RabbitMQ; the downstream is a real HTTP server on loopback.
Each test prints sent / delivered / duplicated / dead-lettered counts.
"""

from __future__ import annotations

import asyncio

import orjson
import pytest

from flowengine.deadletter.replay import replay
from flowengine.deadletter.store import DeadLetterStore
from flowengine.runtime.engine import Engine
from flowengine.runtime.services import Services
from tests.conftest import compile_ok
from tests.connectors.amqp_helpers import broker, unique, until

pytestmark = pytest.mark.broker

COUNT = 300


def flow(inq: str, url: str, policy: str) -> str:
    return f"""flow billing {{
  source inq = amqp.consume(queue: "{inq}", prefetch: 32)
  sink bill = http.request(url: "{url}/bill", timeout: 2, {policy})
  sink parked = dead_letter()
  inq -> bill
  on error -> parked
}}"""


def delivered_ns(calls: list[bytes]) -> list[int]:
    return [orjson.loads(c)["n"] for c in calls if c]


async def test_service_down_for_a_while_retries_open_and_close_the_circuit(upstream, tmp_path):
    service, url = upstream
    service.statuses = [500] * 40 + [200]
    inq = unique("down.in")
    policy = ('retry: {attempts: 30, delay: "20ms", max_delay: "200ms"}, '
              'circuit_breaker: {failures: 10, window: "10s", reset: "300ms", when_open: "wait"}')
    engine = Engine(Services(tmp_path / "state.db"))
    async with broker() as b:
        await b.queue(inq)
        await engine.deploy(compile_ok(flow(inq, url, policy)))
        breaker = engine.flows["billing"].flow.info("bill").policy.breaker
        states: set[str] = set()
        watching = asyncio.create_task(_watch(breaker, states))
        await b.publish_many(inq, [orjson.dumps({"n": i}) for i in range(COUNT)])
        await until(lambda: set(range(COUNT)) <= set(delivered_ns(service.calls)), timeout=60)
        watching.cancel()
        await engine.stop()
        parked = DeadLetterStore(engine.services.store).count("billing")
        left = await b.count(inq)
    ok = [n for n, status in zip(delivered_ns(service.calls), _statuses(service), strict=True) if status == 200]
    print(f"\ndownstream 500 then 200: sent {COUNT}, calls {len(service.calls)}, delivered {len(ok)}, "
          f"unique {len(set(ok))}, duplicated {len(ok) - len(set(ok))}, dead-lettered {parked}, "
          f"breaker states seen {sorted(states)}")
    assert set(ok) == set(range(COUNT)) and len(ok) == COUNT  # each delivered exactly once
    assert parked == 0 and left == 0
    assert {"open", "closed"} <= states


def _statuses(service) -> list[int]:
    return [service.statuses[min(i, len(service.statuses) - 1)] for i in range(len(service.calls))]


async def _watch(breaker, states: set[str]) -> None:
    while True:
        states.add(breaker.state)
        await asyncio.sleep(0.005)


async def test_service_down_for_good_parks_everything_and_replay_delivers(upstream, tmp_path):
    service, url = upstream
    service.statuses = [500]
    inq = unique("dead.in")
    engine = Engine(Services(tmp_path / "state.db"))
    async with broker() as b:
        await b.queue(inq)
        await engine.deploy(compile_ok(flow(inq, url, 'retry: {attempts: 3, delay: "1ms"}')))
        await b.publish_many(inq, [orjson.dumps({"n": i}) for i in range(COUNT)])
        store = DeadLetterStore(engine.services.store)
        await until(lambda: store.count("billing") == COUNT, timeout=60)
        left = await b.count(inq)
        letters = store.list("billing", limit=COUNT)
        assert {letter.attempts for letter in letters} == {3}
        service.calls.clear()
        service.statuses = [200]  # fixed
        report = await replay(engine.flows["billing"], store, store.select("billing"))
        await engine.stop()
    ns = delivered_ns(service.calls)
    print(f"\ndownstream 500 forever: sent {COUNT}, dead-lettered {len(letters)} (3 attempts each), "
          f"replayed: {report.summary()}, delivered {len(ns)}, duplicated {len(ns) - len(set(ns))}")
    assert left == 0  # every message acknowledged: parked, not lost
    assert sorted(ns) == list(range(COUNT)) and len(report.delivered) == COUNT


async def test_poison_message_is_dead_lettered_after_n_attempts_and_others_flow(upstream, tmp_path):
    service, url = upstream
    inq = unique("poison.in")
    text = f"""flow orders {{
  source inq = amqp.consume(queue: "{inq}", prefetch: 16)
  transform shape = json.map(retry: {{attempts: 4, delay: "1ms", on: ["node_failed"]}}) {{ n: body.n; per_item: 100 / body.items }}
  sink post = http.request(url: "{url}/orders", timeout: 2)
  sink parked = dead_letter()
  inq -> shape -> post
  on error -> parked
}}"""
    engine = Engine(Services(tmp_path / "state.db"))
    async with broker() as b:
        await b.queue(inq)
        await engine.deploy(compile_ok(text))
        bodies = [orjson.dumps({"n": i, "items": 0 if i == 57 else 4}) for i in range(COUNT)]  # 57 divides by zero
        await b.publish_many(inq, bodies)
        store = DeadLetterStore(engine.services.store)
        await until(lambda: len(service.calls) == COUNT - 1 and store.count("orders") == 1, timeout=60)
        await engine.stop()
        left = await b.count(inq)
    (letter,) = store.list("orders")
    ns = delivered_ns(service.calls)
    print(f"\npoison message: sent {COUNT}, delivered {len(ns)}, duplicated {len(ns) - len(set(ns))}, "
          f"dead-lettered {store.count('orders')} after {letter.attempts} attempts ({letter.error_message})")
    assert sorted(ns) == [n for n in range(COUNT) if n != 57]
    assert orjson.loads(letter.body) == {"n": 57, "items": 0} and letter.attempts == 4 and letter.node == "shape"
    assert left == 0
