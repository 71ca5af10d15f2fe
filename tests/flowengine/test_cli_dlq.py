"""`flowengine dlq` on a real state file: list, show (explain), replay after a fix, purge."""

from __future__ import annotations

import asyncio
import json

from connectors.memory import hub_of
from flowengine.runtime.engine import Engine
from flowengine.runtime.services import Services
from tests.conftest import compile_ok, free_port
from tests.flowengine.test_cli import FLOWENGINE


def flow(url: str) -> str:
    return f"""flow billing {{
  source in = memory.in()
  sink bill = http.request(url: "{url}/bill", timeout: 1)
  sink parked = dead_letter()
  in -> bill
  on error -> parked
}}
"""


async def dlq(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        FLOWENGINE, "dlq", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_list_show_replay_purge(tmp_path, upstream):
    service, url = upstream
    state = tmp_path / "state.db"
    broken = f"http://127.0.0.1:{free_port()}"  # nothing listens: connection refused
    engine = Engine(Services(state))
    await engine.deploy(compile_ok(flow(broken)))
    for i in range(3):
        assert (await hub_of(engine.services).send("in", {"n": i})).handled
    await engine.stop()
    engine.services.close()

    code, out, _ = await dlq("list", "billing", "--state", str(state))
    assert code == 0 and out.splitlines()[-1] == "3 of 3 dead letter(s) for flow 'billing'"
    code, out, _ = await dlq("show", "billing", "1", "--state", str(state))
    assert code == 0 and out.startswith("dead letter 1 of flow 'billing' (revision ")
    assert "node 'bill' failed with delivery_failed after 1 attempt: POST " in out
    code, out, _ = await dlq("show", "billing", "1", "--state", str(state), "--format", "json")
    assert json.loads(out)[0]["message"]["body_base64"] == "eyJuIjowfQ=="  # {"n":0}

    fixed = tmp_path / "billing.flow"
    fixed.write_text(flow(url))
    code, out, _ = await dlq("replay", "billing", "--flow-file", str(fixed), "--state", str(state), "--id", "2")
    assert (code, out) == (0, "1 selected: 1 delivered, 0 parked again, 0 still failing (left parked)\n")
    assert service.calls == [b'{"n":1}']
    code, out, _ = await dlq("replay", "billing", "--flow-file", str(fixed), "--state", str(state))
    assert out == "2 selected: 2 delivered, 0 parked again, 0 still failing (left parked)\n"
    code, out, _ = await dlq("purge", "billing", "--state", str(state), "--yes")
    assert out == "3 dead letter(s) deleted\n"


async def test_missing_state_file_is_a_usage_error(tmp_path):
    code, _, err = await dlq("list", "x", "--state", str(tmp_path / "nope.db"))
    assert code == 2 and err == f"error: no state file at {tmp_path / 'nope.db'}\n"
