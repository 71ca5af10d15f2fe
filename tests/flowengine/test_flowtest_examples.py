"""Every example flow ships with flow tests, and they pass (what CI runs: `flowengine test flows/`)."""

from __future__ import annotations

import asyncio
import json
import re
import shutil

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


def test_the_example_of_the_flow_tests_page_passes(tmp_path):
    page = (REPO / "docs/flow-tests.md").read_text()
    flow = re.search(r"```flow\n(.*?)```", page, re.S)
    cases = re.search(r"```yaml\n(.*?)```", page, re.S)
    assert flow and cases
    (tmp_path / "greet.flow").write_text(flow.group(1))
    (tmp_path / "greet.test.yaml").write_text(cases.group(1))
    shutil.copytree(REPO / "schemas", tmp_path / "schemas")
    run = asyncio.run(run_paths([tmp_path]))
    assert len(run.cases) == 4 and not run.failed, text_report(run, 0.0)
    (coverage,) = run.coverage.flows.values()
    assert coverage.untested == []
