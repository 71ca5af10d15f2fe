"""S4 load generator: ORU^R01 over MLLP on --connections connections, ACKs checked, JSON checked on AMQP.

Each connection sends a message, waits for its ACK (MLLP allows one outstanding message
per connection), then sends the next. Every ACK must be AA for its own control id, and
every message must arrive once on queue bench.hl7 as JSON whose MSH-10 is that control id.
Warm-up first, then the measured phase between the @@measure markers (the shared
harness samples CPU between them). The last stdout line is the result as JSON.
Run by the harness with the peers dir and the repo on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time

import aiormq
import orjson
from harness import common

from bench import mllp_client


class Gen:
    def __init__(self, a: argparse.Namespace) -> None:
        self.a = a
        self.run = os.urandom(4).hex()
        self.counts = dict(duplicates=0, unexpected=0, bad_content=0, bad_ack=0, other_msgs=0)
        self.bad_examples: list[str] = []
        self.pending: set[str] = set()  # control ids sent whose JSON has not arrived
        self.seen: set[str] = set()
        self.lat: list[float] = []
        self.recording = False
        self.last_rx = 0.0
        self.sent = 0
        self.all_in = asyncio.Event()

    def bad(self, what: str, example: str) -> None:
        self.counts[what] += 1
        if len(self.bad_examples) < 5:
            self.bad_examples.append(example)

    def on_json(self, body: bytes) -> None:
        try:
            segments = orjson.loads(body)["segments"]
            cid, pid = segments[0][10], segments[1][3]
        except (ValueError, KeyError, IndexError, TypeError):
            self.counts["other_msgs"] += 1
            return
        if not isinstance(cid, str) or not cid.startswith(self.run + "-"):
            self.counts["other_msgs"] += 1
            return
        if cid in self.seen:
            self.counts["duplicates"] += 1
            return
        if cid not in self.pending:
            self.counts["unexpected"] += 1
            return
        self.seen.add(cid)
        self.pending.discard(cid)
        i = int(cid.rsplit("-", 1)[1])
        patient = pid.get("1") if isinstance(pid, dict) else None
        if patient != f"P{100000 + i % 5000}":
            self.bad("bad_content", f"{cid}: PID-3.1 {patient!r}")
        self.last_rx = time.perf_counter()
        if not self.pending:
            self.all_in.set()

    async def sender(self, ids: list[int], deadline: float) -> None:
        """One MLLP connection: send `ids` in turn, each after the previous ACK."""
        reader, writer = await asyncio.open_connection("127.0.0.1", self.a.port)
        try:
            for i in ids:
                if time.perf_counter() > deadline:
                    break
                cid = mllp_client.control_id(self.run, i)
                self.pending.add(cid)
                self.all_in.clear()
                t0 = time.perf_counter()
                ack = await asyncio.wait_for(mllp_client.call(reader, writer, mllp_client.oru(self.run, i)),
                                             max(0.001, deadline - t0))
                now = time.perf_counter()
                self.sent += 1
                code, acked = mllp_client.msa(ack)
                if code != "AA" or acked != cid:
                    self.bad("bad_ack", f"{cid}: ACK {code} for {acked!r}")
                if self.recording:
                    self.lat.append(now - t0)
                    self.last_rx = max(self.last_rx, now)
        finally:
            writer.close()

    async def phase(self, first: int, count: int, deadline: float) -> tuple[int, bool]:
        """Send ids first..first+count-1 over the connections; wait for their JSON. (sent, timed_out)"""
        ids = list(range(first, first + count))
        conns = max(1, self.a.connections)
        before = self.sent
        timed_out = False
        try:
            senders = asyncio.gather(*(self.sender(ids[k::conns], deadline) for k in range(conns)))
            await asyncio.wait_for(senders, max(0.001, deadline - time.perf_counter()))
            if self.pending:
                await asyncio.wait_for(self.all_in.wait(), max(0.001, deadline - time.perf_counter()))
        except TimeoutError:
            timed_out = True
        return self.sent - before, timed_out


async def main(a: argparse.Namespace) -> dict:
    g = Gen(a)
    conn = await aiormq.connect(a.url)
    ch = await conn.channel()
    await ch.queue_declare(mllp_client.QUEUE, durable=True)
    await ch.queue_purge(mllp_client.QUEUE)
    await ch.basic_qos(prefetch_count=1000)

    async def on_message(msg: aiormq.abc.DeliveredMessage) -> None:
        g.on_json(msg.body)
        await ch.basic_ack(msg.delivery.delivery_tag)

    await ch.basic_consume(mllp_client.QUEUE, on_message, no_ack=False)
    cap_end = time.perf_counter() + a.time_cap
    warm = {"sent": 0, "received": 0}
    if a.warmup:
        s, to = await g.phase(0, a.warmup, min(cap_end, time.perf_counter() + a.time_cap / 2))
        warm = {"sent": s, "received": len(g.seen)}
        common.log(f"warmup: {len(g.seen)}/{s} received" + (" (timed out)" if to else ""))
    rx_before = len(g.seen)
    g.recording = True
    common.marker("measure-start")
    t0 = time.perf_counter()
    sent, timed_out = await g.phase(a.warmup, a.n, cap_end)
    t_end = g.last_rx if (g.last_rx and not timed_out) else time.perf_counter()
    common.marker("measure-end")
    duration = max(t_end - t0, 1e-9)
    received = len(g.seen) - rx_before
    await conn.close()
    lost = len(g.pending)
    c = g.counts
    res = {
        "kind": "mllp-amqp", "n_in": sent, "expected_out": sent, "received_out": received, "lost": lost,
        **{k: c[k] for k in ("duplicates", "unexpected", "bad_content", "bad_ack")},
        "bad_examples": g.bad_examples, "other_msgs": c["other_msgs"], "connections": a.connections,
        "duration_s": round(duration, 4), "throughput": round(sent / duration, 1),
        "in_msgs_per_s": round(sent / duration, 1), "out_msgs_per_s": round(received / duration, 1),
        "timed_out": timed_out, "warmup": warm, **common.latency_fields(g.lat),
    }
    res["ok"] = (not timed_out and sent == a.n and lost == 0 and received == sent
                 and not any(c[k] for k in ("duplicates", "unexpected", "bad_content", "bad_ack"))
                 and warm["received"] == warm["sent"])
    return res


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--n", type=int, default=5000)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--time-cap", type=float, default=120)
    p.add_argument("--port", type=int, default=mllp_client.PORT)
    p.add_argument("--url", default=common.env_amqp())
    return p.parse_args(argv)


if __name__ == "__main__":
    args = parse()
    try:
        import uvloop  # like the harness's load generators: the load side as light as it can be

        uvloop.install()
    except ImportError:
        pass
    try:
        result = asyncio.run(main(args))
    except Exception as e:
        result = {"kind": "mllp-amqp", "ok": False, "error": f"{type(e).__name__}: {e}"}
    print(orjson.dumps(result).decode(), flush=True)
    sys.exit(0 if result.get("ok") else 1)
