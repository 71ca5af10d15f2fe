"""Graph export: names, kinds, conditions on edges, and no resolved secrets."""

from __future__ import annotations

import orjson

from flowengine.pictures.export import to_dot, to_json, to_mermaid
from tests.conftest import compile_ok

FLOW = """
flow route "Route by size" {
  source in = http.listen(path: "/in")
  branch size {
      when body.n > 10 -> big
      else -> small
  }
  sink big = http.request(url: "https://api.example/big", headers: {"authorization": "Bearer ${TOKEN}"})
  sink small = memory.out()
  sink errors = memory.out()
  in -> size
  on error -> errors
}
"""
SECRET = "s3cr3t-value"


def flow():
    return compile_ok(FLOW, env={"TOKEN": SECRET})


def test_json_export_lists_nodes_and_edges_with_conditions():
    data = to_json(flow())
    assert [(n["name"], n["kind"], n["role"]) for n in data["nodes"]] == [
        ("in", "http.listen", "source"),
        ("size", "branch", "branch"),
        ("big", "http.request", "sink"),
        ("small", "memory.out", "sink"),
        ("errors", "memory.out", "sink"),
    ]
    assert data["edges"] == [
        {"from": "size", "to": "big", "kind": "when", "condition": "body.n > 10"},
        {"from": "size", "to": "small", "kind": "else", "condition": None},
        {"from": "in", "to": "size", "kind": "next", "condition": None},
        {"from": "*", "to": "errors", "kind": "error", "condition": None},
    ]


def test_exports_never_carry_resolved_secrets():
    f = flow()
    assert f.info("big").runtime.headers["authorization"].source == f"Bearer {SECRET}"  # the runtime has it
    for text in (orjson.dumps(to_json(f)).decode(), to_dot(f), to_mermaid(f)):
        assert SECRET not in text
    assert to_json(f)["nodes"][2]["options"]["headers"] == {"authorization": "Bearer ${TOKEN}"}


def test_dot_export():
    dot = to_dot(flow())
    assert dot.startswith('digraph "route" {')
    assert '"size" [label="size\\nbranch", shape=diamond];' in dot
    assert '"size" -> "big" [label="body.n > 10"];' in dot
    assert '"*" -> "errors" [label="error", style=dashed, color=red];' in dot


def test_mermaid_export():
    mermaid = to_mermaid(flow())
    assert mermaid.splitlines()[0] == "flowchart LR"
    assert '  size{"size<br/>branch"}' in mermaid
    assert '  size -->|"body.n > 10"| big' in mermaid
    assert '  any_node -.->|"error"| errors' in mermaid
