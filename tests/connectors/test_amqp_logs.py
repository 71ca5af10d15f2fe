"""What a broker-side close of the engine's connection logs: the engine's one warning, not
aiormq's ERROR with its empty `NoneType: None` traceback."""

from __future__ import annotations

import logging

import pytest

from tests.connectors.amqp_helpers import broker, deployed, kill_connections, unique, until

pytestmark = pytest.mark.broker


async def test_a_connection_closed_by_the_broker_logs_the_engine_warning_only(caplog) -> None:
    caplog.set_level(logging.INFO)

    def said(text: str) -> list[logging.LogRecord]:
        return [r for r in caplog.records if text in r.getMessage()]

    async with broker() as b:
        queue = await b.queue(unique("quiet"))
        flow = f'flow quiet {{\n  source in = amqp.consume(queue: "{queue}")\n  sink out = memory.out()\n  in -> out\n}}\n'
        async with deployed(flow) as (engine,):
            assert await kill_connections(engine) == 1
            await until(lambda: len(said(" is up")) == 2)  # reconnected
    assert [(r.name, r.levelname) for r in caplog.records if r.name.startswith("aiormq")] == []
    (lost,) = said(" lost: ")
    assert (lost.name, lost.levelname) == ("flowengine.amqp", "WARNING")
    assert "flowengine fault test" in lost.getMessage() and "reconnecting" in lost.getMessage()
