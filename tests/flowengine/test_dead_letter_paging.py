"""2,002 dead letters: the listing pages and says the total, a replay takes every one
(CLI on the state file, API on the running engine), and its counts add up."""

from __future__ import annotations

import asyncio
import os
import pty
import threading
from pathlib import Path

from flowengine.core.message import Message
from flowengine.deadletter.store import DeadLetterStore
from flowengine.errors import DeliveryFailed
from flowengine.runtime.store import Store
from tests.flowengine.test_cli import FLOWENGINE

COUNT = 2002
FLOW = """flow bulk {
  source in = memory.in()
  sink out = memory.out(channel: "bulk-out")
  in -> out
}
"""


def park_many(store: Store, count: int = COUNT) -> None:
    """Park `count` letters through the store, unsynced (a test's state file need not survive a crash)."""
    store.query("PRAGMA synchronous=OFF")
    letters = DeadLetterStore(store)
    for i in range(count):
        msg = Message(b'{"n":%d}' % i, content_type="application/json", attributes={"n": i})
        letters.park("bulk", "r1", msg, "in", DeliveryFailed("downstream was down", node="out"))
    store.query("PRAGMA synchronous=FULL")


async def dlq(*args: str, tty: bool = False) -> tuple[int, str, str]:
    """`flowengine dlq ...`; with `tty`, stderr is a terminal (a pseudo-terminal) and is what it showed."""
    if not tty:
        proc = await asyncio.create_subprocess_exec(
            FLOWENGINE, "dlq", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await proc.communicate()
        return proc.returncode or 0, out.decode(), err.decode()
    leader, follower = pty.openpty()
    shown = bytearray()
    reader = threading.Thread(target=_drain, args=(leader, shown))  # the bar must never block on a full pty
    reader.start()
    terminal = {**os.environ, "TERM": "xterm"}  # a terminal that can draw, whatever the runner's TERM (dumb in CI)
    proc = await asyncio.create_subprocess_exec(
        FLOWENGINE, "dlq", *args, stdout=asyncio.subprocess.PIPE, stderr=follower, env=terminal
    )
    os.close(follower)
    out, _ = await proc.communicate()
    await asyncio.to_thread(reader.join, 10)
    os.close(leader)
    return proc.returncode or 0, out.decode(), shown.decode(errors="replace")


def _drain(fd: int, into: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal's last writer closed it
            return
        if not chunk:
            return
        into += chunk


async def test_cli_pages_the_listing_and_replays_every_letter_with_a_bar_on_a_terminal(tmp_path: Path):
    state = tmp_path / "state.db"
    store = Store(state)
    park_many(store)
    store.close()
    code, out, _ = await dlq("list", "bulk", "--state", str(state))
    lines = out.splitlines()
    assert code == 0 and len(lines) == 101
    assert lines[-1] == "100 of 2002 dead letter(s) for flow 'bulk'; next page: --after 100"
    code, out, _ = await dlq("list", "bulk", "--state", str(state), "--limit", "1000", "--after", "2000")
    assert out.splitlines()[-1] == "2 of 2002 dead letter(s) for flow 'bulk'"

    flow_file = tmp_path / "bulk.flow"
    flow_file.write_text(FLOW)
    args = ("replay", "bulk", "--flow-file", str(flow_file), "--state", str(state))
    code, out, shown = await dlq(*args, "--id", "1", "--id", "2", tty=True)
    assert (code, out) == (0, "2 selected: 2 delivered, 0 parked again, 0 still failing (left parked)\n")
    assert "replaying" in shown and "2/2" in shown  # rich's bar, on a terminal
    code, out, shown = await dlq(*args)
    assert (code, out) == (0, "2000 selected: 2000 delivered, 0 parked again, 0 still failing (left parked)\n")
    assert shown == ""  # no bar when stderr is not a terminal
