"""Every example flow ships with flow tests, and they pass (what CI runs: `flowengine test flows/`)."""

from __future__ import annotations

import asyncio
import json

from flowengine.flowtest import run_paths, text_report
from flowengine.flowtest.schema import SCHEMA
from tests.conftest import REPO


def test_every_example_flow_has_passing_flow_tests():
    run = asyncio.run(run_paths([REPO / "flows"]))
    assert run.untested_flows == [], f"flows without a test file: {run.untested_flows}"
    assert run.cases and not run.failed, text_report(run, 0.0)


def test_the_committed_test_file_schema_is_generated():
    committed = (REPO / "schemas/flowtest.schema.json").read_text()
    assert committed == json.dumps(SCHEMA, indent=2) + "\n", (
        "schemas/flowtest.schema.json is stale: python -c 'import json; from flowengine.flowtest.schema import "
        "SCHEMA; print(json.dumps(SCHEMA, indent=2))' > schemas/flowtest.schema.json"
    )
