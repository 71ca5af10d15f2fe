"""A flood of MLLP start blocks on one connection, good senders on another: how long, who waits.

Issue 19: `mllp.listen` consumed a stream of 0x0B bytes in quadratic time (1 MiB 32 s) and
held the event loop meanwhile, so a good sender on another connection waited up to 16 s for
its ACK. This deploys `mllp.listen -> memory.out` in this process, then

    flood   one connection writes --size bytes of `--pattern` (0x0B by default), then one
            good frame, and waits for that frame's ACK: the flood time is until that ACK;
    good    another connection sends ORU messages one after the other, each after the ACK
            of the one before, for as long as the flood lasts: its worst round trip is the
            longest any good sender was kept waiting.

Prints one JSON line: flood_s, good_worst_ms, good_round_trips. Run from the repository root:
`.venv/bin/python -m bench.mllp_flood --size 1048576`.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import time

import orjson

from bench import mllp_client
from bench.peers import REPO

FLOW = """flow flood {{
  source lab = mllp.listen(port: {port}, max_unframed_bytes: {size})
  sink out = memory.out()
  lab -> out
}}"""


async def flood(port: int, junk: bytes) -> float:
    """Write `junk` and then a good frame; the seconds until that frame's ACK."""
    began = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(junk)
    await mllp_client.call(reader, writer, mllp_client.oru("flood", 0))
    writer.close()
    return time.perf_counter() - began


async def good(port: int, done: asyncio.Event) -> list[float]:
    """Round trips, one at a time, until `done`: each one's seconds."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    times: list[float] = []
    while not done.is_set():
        began = time.perf_counter()
        await mllp_client.call(reader, writer, mllp_client.oru("good", len(times)))
        times.append(time.perf_counter() - began)
    writer.close()
    return times


async def main(size: int, pattern: bytes) -> dict[str, float]:
    from flowengine.compile.compiler import compile_text
    from flowengine.runtime.engine import Engine

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    result = compile_text(FLOW.format(port=port, size=size), "<mllp_flood>", base_dir=REPO)
    engine = Engine()
    await engine.deploy(result.flows[0])
    done = asyncio.Event()
    good_task = asyncio.create_task(good(port, done))
    flood_s = await flood(port, (pattern * (size // len(pattern) + 1))[:size])
    done.set()
    times = await good_task
    await engine.stop()
    return {"flood_s": round(flood_s, 3), "good_worst_ms": round(max(times) * 1000, 1), "good_round_trips": len(times)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--size", type=int, default=1 << 20, help="bytes of flood")
    parser.add_argument("--pattern", default="0b", help="the flood's repeating bytes, in hex (0b: start blocks)")
    args = parser.parse_args()
    print(orjson.dumps(asyncio.run(main(args.size, bytes.fromhex(args.pattern)))).decode())
