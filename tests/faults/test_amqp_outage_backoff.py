"""Fault test: the broker's port refuses connections for a while, then accepts (issue 14 item 24).

The engine reaches the shared RabbitMQ through a `FaultProxy`: its connection is
reset and the proxy refuses connections until `FAILED_ATTEMPTS` attempts have
failed, when a doubling backoff without a low cap would wait 6.4-12.8 s before the
next. Then the proxy accepts again, and the connection must be back, and traffic
flowing, within the reconnect cap (5 s) plus time to connect.
"""

from __future__ import annotations

import pytest

from connectors.amqp.connection import connections
from tests.connectors.amqp_helpers import broker, deployed, relay_flow, unique, until
from tests.faults.proxy import FaultProxy

pytestmark = pytest.mark.broker

AMQP_PORT = 5672
FAILED_ATTEMPTS = 6
RECONNECT_CAP = 5.0  # docs/connectors/amqp.md: the longest wait between attempts


async def test_traffic_resumes_within_seconds_of_the_broker_coming_back() -> None:
    inq, outq = unique("outage.in"), unique("outage.out")
    async with FaultProxy(AMQP_PORT) as proxy, broker() as world:
        out = await world.relay(inq, outq)
        url = f"amqp://guest:guest@127.0.0.1:{proxy.port}/"
        async with deployed(relay_flow("outage", inq, outq, url)) as (engine,):
            (conn,) = connections(engine.services).values()
            proxy.refuse()
            proxy.reset()
            await until(lambda: proxy.refused >= FAILED_ATTEMPTS, timeout=20)
            assert not conn.is_up
            await world.publish(inq, b"after the outage")
            proxy.accept()
            await until(lambda: conn.is_up, timeout=RECONNECT_CAP + 2)  # 2 s: connecting, on a busy machine
            await out.wait_count(1, timeout=5)
    assert [m.body for m in out.messages] == [b"after the outage"]
