"""`amqp.consume` / `amqp.publish` against the real RabbitMQ: round trips, failures, competing consumers."""

from __future__ import annotations

import asyncio
import logging

import httpx
import orjson
import pytest

from connectors.amqp.connection import DEFAULT_URL, AmqpConnection, connections
from connectors.amqp.publish import MAX_LANES
from connectors.memory import hub_of
from flowengine.core.backoff import Backoff
from flowengine.core.message import Message
from flowengine.errors import ConnectorError
from flowengine.runtime.engine import Engine
from tests.conftest import REPO, compile_ok
from tests.connectors.amqp_helpers import broker, deployed, kill_connections, relay_flow, unique, until

pytestmark = pytest.mark.broker

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def test_amqp_to_amqp_carries_content_headers_and_trace() -> None:
    inq, outq = unique("in"), unique("out")
    flow = f"""
flow relay {{
  source inq = amqp.consume(queue: "{inq}", prefetch: 32)
  transform shape = json.map {{
      order:  body.id
      total:  body.qty * body.price
      key:    attributes["amqp.routing_key"]
  }}
  sink out = amqp.publish(routing_key: "{outq}", headers: {{"x-attempt": "{{{{ attempt }}}}"}})
  inq -> shape -> out
}}
"""
    async with broker() as b:
        got = await b.relay(inq, outq)
        async with deployed(flow):
            await b.publish(inq, orjson.dumps({"id": "A-1", "qty": 3, "price": 2.5}), message_id="A-1",
                            content_type="application/json",
                            headers={"traceparent": TRACEPARENT, "x-tenant": "acme", "x-retries": 3})
            (out,) = await got.wait_count(1)
    assert orjson.loads(out.body) == {"order": "A-1", "total": 7.5, "key": inq}
    assert out.message_id == "A-1"
    assert out.content_type == "application/json"
    assert out.delivery_mode == 2
    assert out.headers["traceparent"] == TRACEPARENT
    assert out.headers["x-tenant"] == "acme"
    assert out.headers["x-retries"] == "3"
    assert out.headers["x-attempt"] == "1"


async def test_routing_key_template_declared_exchange_and_unroutable() -> None:
    ex, eu, us = unique("ex"), unique("eu"), unique("us")
    flow = f"""
flow by_region {{
  source web = memory.in()
  sink out = amqp.publish(exchange: "{ex}", declare_exchange: "topic", routing_key: "orders.{{{{ body.region }}}}")
  web -> out
}}
"""
    async with broker() as b:
        await b.exchange(ex)
        for q, key in ((eu, "orders.eu"), (us, "orders.us")):
            await b.queue(q)
            await (await b.channel.get_queue(q)).bind(ex, key)
        got_eu, got_us = await b.collect(eu), await b.collect(us)
        async with deployed(flow) as (engine,):
            hub = hub_of(engine.services)
            for region in ("eu", "us", "eu"):
                assert (await hub.send("web", {"region": region})).ok
            unroutable = await hub.send("web", {"region": "mars"})
        await got_eu.wait_count(2)
        await got_us.wait_count(1)
    assert not unroutable.ok
    assert unroutable.error is not None and unroutable.error.node == "out"
    assert unroutable.error.message == f"unroutable: no queue is bound to exchange '{ex}' with routing key 'orders.mars' (mandatory)"


async def test_http_to_amqp_through_the_real_http_server(engine: Engine, http_server: httpx.AsyncClient) -> None:
    outq = unique("orders")
    flow = f"""
flow web_orders {{
  source web = http.listen(path: "/orders", method: "POST")
  transform check = json.validate(schema: "schemas/order.schema.json")
  transform norm = json.map {{ id: body.id; region: body.country | lower }}
  sink out = amqp.publish(routing_key: "{outq}")
  web -> check -> norm -> out
}}
"""
    order = orjson.loads((REPO / "docs/examples/order.json").read_bytes())
    async with broker() as b:
        await b.queue(outq)
        got = await b.collect(outq)
        await engine.deploy(compile_ok(flow))
        ok = await http_server.post("/orders", json=order, headers={"traceparent": TRACEPARENT, "x-request-id": "r-77"})
        bad = await http_server.post("/orders", json={"id": "no items"})
        (out,) = await got.wait_count(1)
        await engine.stop()
    assert ok.status_code == 204, ok.text
    assert bad.status_code == 422
    assert orjson.loads(out.body) == {"id": order["id"], "region": order["country"].lower()}
    assert out.content_type == "application/json"
    assert out.headers["traceparent"] == TRACEPARENT
    assert out.headers["x-request-id"] == "r-77"
    assert "content-length" not in out.headers and "host" not in out.headers


async def test_failing_sink_leaves_its_message_unacked_and_the_rest_flow(caplog: pytest.LogCaptureFixture) -> None:
    inq, outq, missing = unique("in"), unique("out"), unique("missing-exchange")
    flow = f"""
flow split_poison {{
  source inq = amqp.consume(queue: "{inq}", requeue_delay: 0.2)
  branch route {{
      when body.poison -> broken
      else             -> good
  }}
  sink broken = amqp.publish(exchange: "{missing}")
  sink good   = amqp.publish(routing_key: "{outq}")
  inq -> route
}}
"""
    caplog.set_level(logging.INFO, "flowengine")
    async with broker() as b:
        got = await b.relay(inq, outq)
        async with deployed(flow) as (engine,):
            await b.publish(inq, b'{"poison": true}', message_id="poison")
            for i in range(20):
                await b.publish(inq, orjson.dumps({"n": i}), message_id=f"ok{i}")
            await got.wait_count(20)
            stats = engine.flows["split_poison"].stats
            await until(lambda: stats["broken"].errors >= 2)  # failed, requeued, redelivered, failed again
        remaining = await b.count(inq)
    assert sorted(m.message_id for m in got.messages) == sorted(f"ok{i}" for i in range(20))
    assert remaining == 1, "the poison message must be back in its queue, not acked"
    failures = [r for r in caplog.records if getattr(r, "node", None) == "broken" and r.levelno == logging.WARNING
                and "failed on message poison" in r.getMessage()]
    assert failures and all(r.flow == "split_poison" for r in failures)
    assert f"no exchange '{missing}'" in failures[0].getMessage()
    assert f"exchange '{missing}' does not exist; publishes fail until it is declared" in caplog.text


async def test_failed_message_is_redelivered_with_attempt_two_on_a_quorum_queue() -> None:
    inq, outq, missing = unique("in"), unique("out"), unique("missing-exchange")
    flow = f"""
flow retry {{
  source inq = amqp.consume(queue: "{inq}", quorum: true, requeue_delay: 0.05)
  branch first {{
      when attempt == 1 -> broken
      else              -> good
  }}
  sink broken = amqp.publish(exchange: "{missing}")
  sink good   = amqp.publish(routing_key: "{outq}", headers: {{"x-attempt": "{{{{ attempt }}}}"}})
  inq -> first
}}
"""
    async with broker() as b:
        b.queues_to_delete.append(inq)
        await b.queue(outq)
        got = await b.collect(outq)
        async with deployed(flow):
            await b.publish(inq, b"{}", message_id="q1")
            (out,) = await got.wait_count(1)
        queue_type = await b.queue_type(inq)
    assert (out.message_id, out.headers["x-attempt"]) == ("q1", "2")
    assert queue_type == "quorum"


async def test_competing_consumers_on_two_engines_split_the_queue() -> None:
    inq, outq = unique("in"), unique("out")
    flow = f"""
flow compete {{
  source inq = amqp.consume(queue: "{inq}", prefetch: 8)
  sink out = amqp.publish(routing_key: "{outq}")
  inq -> out
}}
"""
    async with broker() as b:
        got = await b.relay(inq, outq)
        async with deployed(flow, engines=2) as engines:
            await b.publish_many(inq, [orjson.dumps({"n": i}) for i in range(400)])
            await got.wait_count(400)
            shares = [e.flows["compete"].stats["inq"].received for e in engines]
    assert {m.message_id for m in got.messages} == {f"m{i}" for i in range(400)}
    assert sum(shares) == 400 and all(s > 0 for s in shares), shares


async def test_bad_input_goes_to_the_error_route_and_consuming_goes_on() -> None:
    inq, outq, errq = unique("in"), unique("out"), unique("errors")
    flow = f"""
flow guarded {{
  source inq = amqp.consume(queue: "{inq}")
  transform shape = json.map {{ n: body.n }}
  sink out = amqp.publish(routing_key: "{outq}")
  sink errors = amqp.publish(routing_key: "{errq}")
  inq -> shape -> out
  on error -> errors
}}
"""
    async with broker() as b:
        for q in (inq, outq, errq):
            await b.queue(q)
        got, errors = await b.collect(outq), await b.collect(errq)
        async with deployed(flow):
            await b.publish(inq, b"<not json/>", message_id="bad", content_type="application/xml")
            await b.publish(inq, b'{"n": 1}', message_id="good")
            await got.wait_count(1)
            (err,) = await errors.wait_count(1)
        left = await b.count(inq)
    assert err.body == b"<not json/>" and err.message_id == "bad"
    assert err.headers["error-type"] == "bad_message" and err.headers["error-node"] == "shape"
    assert left == 0


async def test_bad_input_without_error_route_is_dead_lettered() -> None:
    inq, dlx, dlq = unique("in"), unique("dlx"), unique("dead")
    flow = f"""
flow dead_letters {{
  source inq = amqp.consume(queue: "{inq}", requeue_on_failure: false, dead_letter_exchange: "{dlx}")
  transform shape = json.map {{ n: body.n }}
  sink out = log()
  inq -> shape -> out
}}
"""
    async with broker() as b:
        await b.exchange(dlx, "fanout")
        await b.queue(dlq)
        await (await b.channel.get_queue(dlq)).bind(dlx)
        b.queues_to_delete.append(inq)
        dead = await b.collect(dlq)
        async with deployed(flow) as (engine,):
            await b.publish(inq, b"not json", message_id="bad")
            await b.publish(inq, b'{"n": 2}', message_id="good")
            (msg,) = await dead.wait_count(1)
            await until(lambda: engine.flows["dead_letters"].stats["out"].received >= 1)
    assert msg.message_id == "bad" and msg.body == b"not json"
    assert msg.headers["x-death"][0]["reason"] == "rejected"


async def test_reconnects_after_the_broker_closes_the_connection(caplog: pytest.LogCaptureFixture) -> None:
    inq, outq = unique("in"), unique("out")
    flow = relay_flow("survivor", inq, outq)
    caplog.set_level(logging.INFO, "flowengine")
    async with broker() as b:
        got = await b.relay(inq, outq)
        async with deployed(flow) as (engine,):
            await b.publish(inq, b"1", message_id="before")
            await got.wait_count(1)
            assert await kill_connections(engine) == 1
            await b.publish(inq, b"2", message_id="after")
            await got.wait_count(2)
    assert [m.message_id for m in got.messages] == ["before", "after"]
    text = caplog.text
    assert "lost" in text and "consuming again from queue" in text
    lost = [r for r in caplog.records if getattr(r, "flow", None) == "survivor" and "connection lost" in r.getMessage()]
    assert {r.node for r in lost} == {"inq", "out"}


async def test_first_connect_and_missing_queue_fail_fast() -> None:
    refused = compile_ok('flow f { source a = amqp.consume(queue: "q", url: "amqp://guest:guest@127.0.0.1:1/")\n'
                         '  sink b = log()\n  a -> b }')
    missing = unique("missing")
    passive = compile_ok(f'flow g {{ source a = amqp.consume(queue: "{missing}", declare: false)\n'
                         '  sink b = log()\n  a -> b }')
    no_dlx = compile_ok(f'flow h {{ source a = amqp.consume(queue: "{unique("q")}", dead_letter_exchange: "{missing}")\n'
                        '  sink b = log()\n  a -> b }')
    for flow, expected in ((refused, "cannot connect to amqp://guest:***@127.0.0.1:1/"),
                           (passive, f"no queue '{missing}'"),
                           (no_dlx, f"no exchange '{missing}'")):
        engine = Engine()
        with pytest.raises(ConnectorError) as raised:
            await engine.deploy(flow)
        assert expected in str(raised.value)
        await engine.stop()


async def test_pause_leaves_messages_in_the_queue_and_resume_consumes_them() -> None:
    inq, outq = unique("in"), unique("out")
    flow = relay_flow("pausable", inq, outq)
    async with broker() as b:
        got = await b.relay(inq, outq)
        async with deployed(flow) as (engine,):
            runtime = engine.flows["pausable"]
            nodes = [runtime.flow.info(n).runtime for n in ("inq", "out")]
            assert all(node.connected for node in nodes)
            await runtime.pause()
            await b.publish(inq, b"while paused", message_id="p1")
            waiting = await b.count(inq)
            await runtime.resume()
            await got.wait_count(1)
    assert waiting == 1
    assert got.messages[0].message_id == "p1"


async def test_example_flow_orders_amqp_runs(engine: Engine, http_server: httpx.AsyncClient) -> None:
    text = (REPO / "flows/orders-amqp.flow").read_text()
    ex, audit = unique("orders"), unique("orders.audit")
    text = text.replace('exchange: "orders"', f'exchange: "{ex}"').replace('"orders.audit"', f'"{audit}"')
    order = orjson.loads((REPO / "docs/examples/order.json").read_bytes())
    async with broker() as b:
        b.queues_to_delete.append(audit)
        b.exchanges_to_delete.append(ex)
        await engine.deploy(compile_ok(text))
        accepted = await http_server.post("/orders", json=order)
        refused = await http_server.post("/orders", json={"id": "A-2"})
        stats = engine.flows["orders_amqp"].stats
        await until(lambda: stats["audit"].sent >= 1)
        await engine.stop()
    assert accepted.status_code == 202 and accepted.headers["x-order-id"] == order["id"]
    assert refused.status_code == 422
    assert stats["publish"].sent == 1


async def test_publish_while_disconnected_fails_after_connect_wait_then_recovers() -> None:
    outq = unique("out")
    flow = f"""
flow offline {{
  source web = memory.in()
  sink out = amqp.publish(routing_key: "{outq}", connect_wait: 0.2)
  web -> out
}}
"""
    engine = Engine()
    slow = AmqpConnection(DEFAULT_URL, backoff=Backoff(initial=2.0))  # first reconnect after 1-2 s
    connections(engine.services)[DEFAULT_URL] = slow
    async with broker() as b:
        got = await b.relay(unique("unused"), outq)
        try:
            await engine.deploy(compile_ok(flow))
            hub, out = hub_of(engine.services), engine.flows["offline"].flow.info("out").runtime
            assert await kill_connections(engine) == 1
            await until(lambda: not out.connected)
            offline = await hub.send("web", {"n": 1})
            await until(lambda: out.connected)
            online = await hub.send("web", {"n": 2})
            await got.wait_count(1)
        finally:
            await engine.stop()
    assert not offline.ok and offline.error is not None
    assert offline.error.message == "not connected to the broker (waited 0.2s)"
    assert online.ok
    assert orjson.loads(got.messages[0].body) == {"n": 2}


async def test_many_messages_sharing_one_message_id_all_go_through() -> None:
    """Some producers reuse a message id; publishes of one id spread over lanes (channels)."""
    inq, outq = unique("sameid.in"), unique("sameid.out")
    flow = f"""
flow same_id {{
  source inq = amqp.consume(queue: "{inq}", prefetch: 64)
  sink out = amqp.publish(routing_key: "{outq}")
  inq -> out
}}
"""
    async with broker() as b:
        got = await b.relay(inq, outq)
        async with deployed(flow):
            await asyncio.gather(*(b.publish(inq, orjson.dumps({"n": i}), message_id="same") for i in range(300)))
            await got.wait_count(300, timeout=30)
    assert sorted(orjson.loads(m.body)["n"] for m in got.messages) == list(range(300))


async def test_unroutable_message_among_publishes_sharing_its_id_fails_alone() -> None:
    """aiormq ties a return to the latest publish with that message id on the channel; with one
    unconfirmed publish per id per lane, exactly the unroutable message fails, however many of
    the same id are in flight."""
    outq, missing = unique("sameid.routed"), unique("sameid.nowhere")
    flow = """
flow same_id_returns {
  source web = memory.in()
  sink out = amqp.publish(routing_key: "{{ body.q }}")
  web -> out
}
"""
    async with broker() as b:
        await b.queue(outq)
        got = await b.collect(outq)
        async with deployed(flow) as (engine,):
            hub = hub_of(engine.services)
            queues = [missing if i == 37 else outq for i in range(80)]
            outcomes = await asyncio.gather(*(hub.send("web", Message(json={"q": q, "n": i}, id="same"))
                                              for i, q in enumerate(queues)))
            lanes = len(engine.flows["same_id_returns"].flow.info("out").runtime._lanes)
            await got.wait_count(79)
    failed = [i for i, outcome in enumerate(outcomes) if not outcome.ok]
    assert failed == [37]
    assert outcomes[37].error is not None and outcomes[37].error.message.startswith("unroutable:")
    assert sorted(orjson.loads(m.body)["n"] for m in got.messages) == [i for i in range(80) if i != 37]
    assert 1 < lanes <= MAX_LANES


async def test_lanes_fail_cleanly_when_their_exchange_goes_and_recover_when_it_is_back() -> None:
    """Several lanes open (same-id publishes), then the exchange is deleted: the broker closes
    each channel that publishes to it; every publish fails (none hangs), and once the exchange
    is back the node publishes again."""
    ex, q = unique("lanes.ex"), unique("lanes.q")
    flow = f"""
flow lanes {{
  source web = memory.in()
  sink out = amqp.publish(exchange: "{ex}", routing_key: "k", connect_wait: 0.5, timeout: 5)
  web -> out
}}
"""

    async def burst(hub: object, n: int, start: int) -> list[bool]:
        sends = (hub.send("web", Message(json={"n": start + i}, id="same")) for i in range(n))  # type: ignore[attr-defined]
        return [o.ok for o in await asyncio.wait_for(asyncio.gather(*sends), 20)]

    async with broker() as b:
        await b.exchange(ex, "direct")
        await b.queue(q)
        await (await b.channel.get_queue(q)).bind(ex, "k")
        got = await b.collect(q)
        async with deployed(flow) as (engine,):
            hub, out = hub_of(engine.services), engine.flows["lanes"].flow.info("out").runtime
            assert all(await burst(hub, 40, 0))
            assert len(out._lanes) > 1
            await b.channel.exchange_delete(ex)
            assert not any(await burst(hub, 10, 100))
            await b.exchange(ex, "direct")
            await (await b.channel.get_queue(q)).bind(ex, "k")
            await until(lambda: out.connected, timeout=10)
            assert all(await burst(hub, 20, 200))
            await got.wait_count(60)
    assert sorted(orjson.loads(m.body)["n"] for m in got.messages) == [*range(40), *range(200, 220)]


async def test_a_consumer_the_broker_cancels_is_noticed_and_the_queue_consumed_again(
        caplog: pytest.LogCaptureFixture) -> None:
    """Deleting the queue cancels the consumer (basic.cancel, which aiormq keeps to itself):
    the node sees its consumer gone, declares the queue again and consumes."""
    inq, outq = unique("cancelled.in"), unique("cancelled.out")
    flow = relay_flow("cancelled", inq, outq)
    async with broker() as b:
        got = await b.relay(inq, outq)
        async with deployed(flow) as (engine,):
            source = engine.flows["cancelled"].flow.info("inq").runtime
            await b.publish(inq, b'{"n": 1}', message_id="before")
            await got.wait_count(1)
            await b.channel.queue_delete(inq)
            await until(lambda: source._consumes == 2, timeout=15)
            await b.publish(inq, b'{"n": 2}', message_id="after")
            await got.wait_count(2)
    assert [m.message_id for m in got.messages] == ["before", "after"]
    assert f"the broker cancelled the consumer of queue '{inq}' (was it deleted?); setting up again" in caplog.text
