"""S4 (HL7 v2 over MLLP -> JSON -> AMQP with ACKs), added to the shared harness at run time.

The harness knows S1-S3. `install` adds S4 to its scenario table (so its runner,
summary and report treat S4 like the others) and teaches its readiness probe the
`mllp` kind: send an ORU^R01 every 50 ms until one is answered AA. S4's protocol
is "amqp" so the harness samples RabbitMQ's CPU as the broker's.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

from bench import mllp_client

ARGS = {"n": 5000, "warmup": 500, "connections": 8, "time-cap": 120}
QUICK = {"n": 1000, "warmup": 100, "time-cap": 40}


async def _probe(port: int, deadline: float, alive: Callable[[], bool]) -> None:
    run = "probe-" + os.urandom(3).hex()
    i = 0
    while True:
        if time.monotonic() > deadline or not alive():
            raise TimeoutError("no AA for the probe" if alive() else "system exited")
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                ack = await asyncio.wait_for(mllp_client.call(reader, writer, mllp_client.oru(run, i)), 1)
            finally:
                writer.close()
            if mllp_client.msa(ack)[0] == "AA":
                return
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            pass
        i += 1
        await asyncio.sleep(0.05)


def install(shared: ModuleType) -> None:
    """Register S4 and the `mllp` probe with the imported harness."""
    scenarios: dict[str, Any] = shared.SCENARIOS
    if "S4" in scenarios:
        return
    scenario_type = type(scenarios["S3"])
    scenarios["S4"] = scenario_type(
        "S4", "HL7 ORU^R01 over MLLP -> JSON -> AMQP (confirms), ACK after the confirm, 8 connections",
        "amqp", "bench.load_mllp", ARGS, QUICK)
    probes = shared.probes
    wait_ready = probes.wait_ready

    def wait_ready_or_mllp(kind: str, ctx: dict[str, Any], timeout: float, alive: Callable[[], bool]) -> None:
        if kind != "mllp":
            return wait_ready(kind, ctx, timeout, alive)  # type: ignore[no-any-return]
        asyncio.run(_probe(mllp_client.PORT, time.monotonic() + timeout, alive))

    probes.wait_ready = wait_ready_or_mllp
