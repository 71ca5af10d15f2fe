"""`json.map` in running flows: the one-pass evaluation and the field-by-field one agree."""

from __future__ import annotations

import pytest

from connectors.memory import hub_of
from flowengine.core.message import Message
from flowengine.runtime.engine import Engine
from tests.conftest import compile_ok

FLAT = """
flow f {
  source in = memory.in()
  transform m = json.map {
      id:      body.id
      missing: body.nope
      hot:     "high" if body.value > 30 else "ok"
      f:       (body.value * 1.8 + 32) | round(2)
      ratio:   100 / body.value
  }
  sink out = memory.out()
  in -> m -> out
}
"""


async def run(engine: Engine, flow: str, body: dict[str, object]) -> tuple[bool, object]:
    await engine.deploy(compile_ok(flow))
    hub = hub_of(engine.services)
    outcome = await hub.send("in", Message(json=body))
    if not outcome.ok:
        assert outcome.error is not None
        return False, outcome.error.message
    return True, hub.received("out")[-1].json


async def test_flat_mapping_in_one_pass_gives_null_for_missing_members(engine: Engine) -> None:
    assert await run(engine, FLAT, {"id": "d-1", "value": 40}) == (
        True, {"id": "d-1", "missing": None, "hot": "high", "f": 104.0, "ratio": 2.5})


@pytest.mark.parametrize(("body", "culprit"), [({"id": 1, "value": 0}, "100 / body.value"),
                                               ({"id": 1, "value": "x"}, '"high" if body.value > 30 else "ok"')])
async def test_a_failing_field_is_named_as_field_by_field_evaluation_names_it(
        engine: Engine, body: dict[str, object], culprit: str) -> None:
    ok, error = await run(engine, FLAT, body)
    assert not ok
    assert isinstance(error, str) and error.startswith(f"expression `{culprit}` failed:")


async def test_nested_and_merge_mappings_take_the_field_by_field_path(engine: Engine) -> None:
    flow = FLAT.replace("id:      body.id", "ids.first: body.id").replace("json.map {", 'json.map(mode: "merge") {')
    assert await run(engine, flow, {"id": "d-1", "value": 40, "keep": True}) == (
        True, {"id": "d-1", "value": 40, "keep": True, "ids": {"first": "d-1"}, "missing": None, "hot": "high",
               "f": 104.0, "ratio": 2.5})
