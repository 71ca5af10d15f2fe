"""Fault test: the network under an AMQP connection goes silent without closing (issue 14 item 23).

A `FaultProxy` between the engine and the shared RabbitMQ stops forwarding in both
directions and keeps both sockets open: neither side gets a FIN or an RST, as when a
cable is pulled or a NAT entry expires. Only heartbeats reveal it. The flow uses a
2 s heartbeat here, so aiormq gives up after (2 + 1) * 3 = 9 s; the connector must
then reconnect (new connections are relayed again) and the flow carry traffic.
The default heartbeat is checked without a broker: `connect_url`.
"""

from __future__ import annotations

import pytest

from connectors.amqp.connection import DEFAULT_URL, HEARTBEAT, connect_url, connections
from tests.connectors.amqp_helpers import broker, deployed, relay_flow, unique, until
from tests.faults.proxy import FaultProxy

pytestmark = pytest.mark.broker

AMQP_PORT = 5672


def test_the_default_heartbeat_notices_a_dead_peer_within_30_s() -> None:
    url = connect_url(DEFAULT_URL, "flowengine test")
    assert url.query["heartbeat"] == str(HEARTBEAT)
    assert (HEARTBEAT + 1) * 3 + HEARTBEAT // 2 <= 30  # aiormq: 3 intervals + 3 s, checked every interval/2
    assert connect_url(DEFAULT_URL + "?heartbeat=30", "n").query["heartbeat"] == "30"  # the URL's own wins
    assert url.query["name"] == "flowengine test"


async def test_a_blackholed_connection_is_noticed_by_heartbeat_and_reconnected(caplog: pytest.LogCaptureFixture) -> None:
    inq, outq = unique("halfopen.in"), unique("halfopen.out")
    async with FaultProxy(AMQP_PORT) as proxy, broker() as world:
        out = await world.relay(inq, outq)
        url = f"amqp://guest:guest@127.0.0.1:{proxy.port}/?heartbeat=2"
        async with deployed(relay_flow("halfopen", inq, outq, url)) as (engine,):
            (conn,) = connections(engine.services).values()
            await world.publish(inq, b"before")
            await out.wait_count(1)
            proxy.blackhole()
            await until(lambda: not conn.is_up, timeout=20)  # 9-10 s with a 2 s heartbeat
            await until(lambda: conn.is_up, timeout=15)
            assert proxy.accepted == 2
            await world.publish(inq, b"after")
            await out.wait_for(lambda ms: any(m.body == b"after" for m in ms), timeout=15)
    assert "heartbeat timeout" in caplog.text
    # "before" may come twice: its ack can be among what the blackhole swallowed (at-least-once)
    assert {m.body for m in out.messages} == {b"before", b"after"}
