"""Flow unit tests: the file format, doubles, stubs, matching, failure output, coverage and JUnit XML."""

from __future__ import annotations

import asyncio
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from flowengine.flowtest import junit_xml, run_paths, text_report
from flowengine.flowtest.doubles import Double
from flowengine.flowtest.loader import TestFileError, load
from flowengine.flowtest.match import same, subset_problems
from flowengine.flowtest.runner import RunResult, discover

# An order flow: a broker source and sink, a mapping, a branch, an HTTP call with a retry
# policy, and error routes; none of its connectors is reachable from here (port 1).
FLOW = """\
flow shop {
  source queue = amqp.consume(url: "amqp://guest:guest@127.0.0.1:1/", queue: "orders")
  transform norm = json.map {
      id:    body.id
      total: body.total
  }
  branch route {
      when body.total >= 100 -> vip
      else -> standard
  }
  sink vip = amqp.publish(url: "amqp://guest:guest@127.0.0.1:1/", exchange: "vip")
  sink standard = http.request(url: "http://127.0.0.1:1/orders", retry: {attempts: 2, delay: "1ms"})
  sink failed = memory.out()

  queue -> norm -> route
  on error standard -> failed
}
"""


def write(tmp_path: Path, cases: str, flow: str = FLOW, name: str = "shop") -> Path:
    (tmp_path / f"{name}.flow").write_text(flow)
    test = tmp_path / f"{name}.test.yaml"
    test.write_text(textwrap.dedent(cases))
    return test


def run(*paths: Path) -> RunResult:
    return asyncio.run(run_paths(list(paths)))


def report(result: RunResult) -> str:
    return text_report(result, 0.5)


def test_connectors_are_doubles_and_messages_reach_named_sinks(tmp_path):
    test = write(
        tmp_path,
        """\
        cases:
          - name: a big order goes to the VIP exchange
            send:
              queue: {json: {id: A1, total: 250, note: dropped by the mapping}}
            expect:
              norm: [{json: {id: A1, total: 250}}]
              vip: [{subset: {id: A1}, where: ["body.total > 200"]}]
              standard: 0
        """,
    )
    result = run(test)
    assert not result.failed, report(result)


def test_the_doubles_stand_where_the_connectors_were(tmp_path):
    from flowengine.compile.compiler import compile_file
    from flowengine.flowtest.coverage import Coverage
    from flowengine.flowtest.doubles import Recorder, install

    (tmp_path / "shop.flow").write_text(FLOW)
    (flow,) = compile_file(tmp_path / "shop.flow").flows
    install(flow, Recorder(flow, Coverage().track(flow).mark))
    inner = {name: getattr(flow.info(name).runtime, "inner", None) for name in ("vip", "standard", "norm", "failed")}
    assert isinstance(inner["vip"], Double) and isinstance(inner["standard"], Double)
    assert type(inner["norm"]).__name__ == "JsonMap" and type(inner["failed"]).__name__ == "MemoryOut"
    assert type(flow.info("queue").runtime).__name__ == "AmqpConsume"  # sources stay, never started


def test_inject_at_any_node_and_stub_failures_with_error_routing(tmp_path):
    test = write(
        tmp_path,
        """\
        cases:
          - name: straight into the branch; the HTTP call fails twice and is routed
            send:
              route: [{json: {id: B1, total: 5}}]
            stubs:
              standard: [{error: "503 from the order service"}, {error: "503 again"}]
            errors:
              standard: {type: delivery_failed, message: "503 again", routed_to: failed}
            expect:
              failed: [{headers: {error-node: standard, error-type: delivery_failed}}]
            outcome: ack

          - name: a retry that succeeds reaches no error route
            send:
              norm: {json: {id: B2, total: 5}}
            stubs:
              standard: [{error: "503 once"}, {json: {accepted: true}}]
            expect:
              standard: [{json: {accepted: true}}]
              failed: 0
        """,
    )
    result = run(test)
    assert not result.failed, report(result)


FAILING = """\
cases:
  - name: wrong expectations
    send:
      queue: {json: {id: C1, total: 120}}
    expect:
      vip: [{json: {id: C1, total: 100}}]
      standard: 1
  - name: an unexpected failure
    send:
      queue: {json: {id: C2, total: 1}}
    stubs:
      standard: {error: "connection refused", type: delivery_failed}
    outcome: ack
"""


def test_failures_read_like_pytest_with_diffs_and_the_failing_node(tmp_path):
    test = write(tmp_path, FAILING)
    result = run(test)
    text = report(result)
    assert [c.passed for c in result.cases] == [False, False]
    assert f"{test}::wrong expectations FAILED" in text
    assert (
        "  'vip', message 1:\n"
        "      body differs (- expected, + actual):\n"
        "      --- expected\n"
        "      +++ actual\n"
        "      @@ -1,4 +1,4 @@\n"
        "       {\n"
        '         "id": "C1",\n'
        '      -  "total": 100\n'
        '      +  "total": 120\n'
        "       }\n"
    ) in text
    assert "  'standard' passed on 0 message(s), expected 1\n" in text
    assert "  unexpected failure: node 'standard' failed: delivery_failed: connection refused\n" in text
    assert "  captured log:\n    WARNING flowengine.runtime: flow shop: node standard failed on message" in text


def test_report_summary_line(tmp_path):
    text = report(run(write(tmp_path, FAILING)))
    assert text.rstrip("\n").splitlines()[-1].strip("=").strip() == "2 failed, 0 passed in 0.50s"


def test_edge_coverage_lists_what_no_case_exercised(tmp_path):
    test = write(
        tmp_path,
        """\
        cases:
          - name: only the VIP path
            send: {queue: {json: {id: D1, total: 500}}}
        """,
    )
    result = run(test)
    (cov,) = result.coverage.flows.values()
    assert [e.describe() for e in cov.untested] == [
        "route -> standard (else)",
        "on error standard -> failed",
    ]
    text = report(result)
    assert "shop (" in text and "3 of 5 edges exercised (60%)" in text
    assert f"    untested: route -> standard (else)  ({tmp_path / 'shop.flow'}:9)" in text


def test_junit_xml(tmp_path):
    result = run(write(tmp_path, FAILING))
    root = ET.fromstring(junit_xml(result, 0.5))
    assert (root.tag, root.get("tests"), root.get("failures")) == ("testsuites", "2", "2")
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == str(tmp_path / "shop.test.yaml")
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["wrong expectations", "an unexpected failure"]
    failure = cases[1].find("failure")
    assert failure is not None and "connection refused" in (failure.text or "")
    assert cases[0].get("line") == "2" and cases[0].get("classname") == "shop"


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("cases:\n  - name: x\n    send: {queue: {json: 1}}\n    expct: {}\n", "4:5: cases[0]: unknown key 'expct'; did you mean 'expect'?"),
        ("cases:\n  - name: x\n    send: {queue: {jsn: 1}}\n", "3:19: cases[0].send.queue: expected exactly one of 'json', 'body'; got keys: jsn"),
        ("cases:\n  - name: x\n    send: {queue: {json: 1}\n", "not valid YAML"),
        ("flow: nope.flow\ncases:\n  - name: x\n    send: {queue: {json: 1}}\n", "the flow file"),
        ("cases:\n  - {name: x, send: {q: {json: 1}}}\n  - {name: x, send: {q: {json: 1}}}\n", "3:1: two cases are named 'x'"),
    ],
)
def test_test_file_errors_name_the_line(tmp_path, yaml_text, message):
    test = write(tmp_path, yaml_text)
    with pytest.raises(TestFileError) as err:
        load(test)
    assert str(err.value).startswith(f"{test}:") and message in str(err.value)


def test_unknown_node_names_fail_the_case_with_a_suggestion(tmp_path):
    test = write(tmp_path, "cases:\n  - name: typo\n    send: {queue: {json: {}}}\n    expect: {vpi: 0}\n")
    (case,) = run(test).cases
    assert case.problems == [["flow 'shop' has no node 'vpi'; did you mean 'vip'?"]]


def test_discovery_finds_test_files_and_flows_without_one(tmp_path):
    write(tmp_path, "cases:\n  - {name: x, send: {queue: {json: {}}}}\n")
    (tmp_path / "lonely.flow").write_text(FLOW.replace("shop", "lonely"))
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden/x.test.yaml").write_text("not: a test")
    tests, untested = discover([tmp_path])
    assert tests == [tmp_path / "shop.test.yaml"] and untested == [tmp_path / "lonely.flow"]
    assert discover([tmp_path / "shop.flow"]) == ([tmp_path / "shop.test.yaml"], [])


def test_json_equality_and_subsets():
    assert same(1, 1.0) and not same(True, 1) and not same({"a": 1}, {"a": 1, "b": 2})
    assert subset_problems({"a": {"b": [1, {"c": "x"}]}, "d": 1}, {"a": {"b": [1, {"c": "y"}]}}) == [
        '/a/b/1/c: expected "x", got "y"',
        "/d: missing (expected 1)",
    ]


def test_a_flow_that_does_not_compile_fails_once_with_its_diagnostics(tmp_path):
    test = write(tmp_path, "cases:\n  - {name: a, send: {queue: {json: 1}}}\n  - {name: b, send: {queue: {json: 2}}}\n",
                 flow=FLOW.replace("json.map {", "json.mapp {"))
    (case,) = run(test).cases
    assert case.name == "(compiling the flow)"
    assert case.problems[0][:2] == [
        "the flow does not compile:",
        f"{tmp_path / 'shop.flow'}:3:20: E101 unknown node kind 'json.mapp'; did you mean 'json.map'?\n"
        "      transform norm = json.mapp {\n"
        "                       ^~~~~~~~~",
    ]


AGGREGATING = """\
flow batches {
  source in = memory.in()
  transform batch = aggregate(key: "body.k", timeout: "${AFTER:-1h}") {
      items: body | map(attribute="n") | list
  }
  sink out = memory.out()

  in -> batch -> out
}
"""


def test_wait_lets_a_case_see_what_a_node_emits_on_its_own_schedule(tmp_path):
    """An aggregate without size or complete_when emits its group when the timeout passes,
    after the case's messages have finished: `wait` keeps the flow running for it, and the
    emission counts for the node's output and the edge coverage."""
    test = write(tmp_path, """\
        env: {AFTER: 100ms}
        cases:
          - name: the group goes out when it has been quiet
            send: {in: [{json: {k: a, n: 1}}, {json: {k: a, n: 2}}]}
            wait: 1s
            expect:
              batch: [{json: {items: [1, 2]}}]
              out: [{json: {items: [1, 2]}}]
        """, flow=AGGREGATING, name="batches")
    result = run(test)
    assert [c.problems for c in result.cases] == [[]]
    assert "2 of 2 edges exercised (100%)" in report(result)


def test_wait_is_bounded(tmp_path):
    test = write(tmp_path, "cases:\n  - name: soak\n    send: {in: {json: {k: a, n: 1}}}\n    wait: 2m\n",
                 flow=AGGREGATING, name="batches")
    with pytest.raises(TestFileError, match="case 'soak': wait is at most 60s"):
        load(test)


def test_a_reply_made_while_another_path_failed_is_no_reply(tmp_path):
    flow = """\
flow fan {
  source web = http.listen(path: "/fan")
  sink warehouse = http.request(url: "http://127.0.0.1:1/stock")
  sink answer = http.reply(status: 201)
  web -> warehouse
  web -> answer
}
"""
    test = write(
        tmp_path,
        """\
        cases:
          - name: the warehouse fails, so the caller gets the error, not the 201
            send:
              web: {json: {sku: X}}
            stubs:
              warehouse: {error: "500 from the warehouse"}
            errors:
              warehouse: {type: delivery_failed, routed_to: null}
            outcome: nack
            reply: null
        """,
        flow=flow,
        name="fan",
    )
    result = run(test)
    assert not result.failed, report(result)
