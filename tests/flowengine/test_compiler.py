"""The compiler: kinds, options, names and edges resolved, every offender reported."""

from __future__ import annotations

import pytest

from flowengine.compile.compiler import compile_text
from flowengine.compile.graph import EdgeKind
from flowengine.compile.spec import Role
from tests.conftest import REPO, codes, compile_ok

OK = """
flow f "demo" {
  source in = memory.in(channel: "in")
  transform m = json.map { x: body.x }
  branch b {
      when body.x > 1 -> big
      else -> small
  }
  sink big = memory.out()
  sink small = memory.out()
  in -> m -> b
  on error m -> small
}
"""


def messages(text: str, env: dict[str, str] | None = None) -> list[str]:
    result = compile_text(text, "t.flow", env=env or {}, base_dir=REPO / "flows")
    return [f"{d.span.line}:{d.span.col}: {d.code} {d.message}" for d in result.diagnostics]


def test_graph_has_nodes_roles_and_labelled_edges():
    flow = compile_ok(OK)
    assert flow.name == "f" and flow.description == "demo"
    assert {i.name: i.role for i in flow.infos()} == {
        "in": Role.SOURCE,
        "m": Role.TRANSFORM,
        "b": Role.BRANCH,
        "big": Role.SINK,
        "small": Role.SINK,
    }
    edges = {(u, v): (d["kind"], d["condition"]) for u, v, d in flow.graph.edges(data=True)}
    assert edges == {
        ("in", "m"): (EdgeKind.NEXT, None),
        ("m", "b"): (EdgeKind.NEXT, None),
        ("b", "big"): (EdgeKind.WHEN, "body.x > 1"),
        ("b", "small"): (EdgeKind.ELSE, None),
        ("m", "small"): (EdgeKind.ERROR, None),
    }


def test_unknown_kind_suggests_the_near_miss():
    text = "flow f {\n  source in = memory.in()\n  sink out = memory.ot()\n  in -> out\n}"
    assert messages(text) == ["3:14: E101 unknown node kind 'memory.ot'; did you mean 'memory.out'?"]


def test_unknown_option_suggests_the_near_miss():
    text = 'flow f {\n  source in = memory.in(chanel: "x")\n  sink out = memory.out()\n  in -> out\n}'
    assert messages(text) == ["2:25: E102 option 'chanel' not recognised by 'memory.in'; did you mean 'channel'?"]


def test_option_value_violating_the_schema():
    text = 'flow f {\n  source in = http.listen(path: "/a", method: "FETCH")\n  sink out = memory.out()\n  in -> out\n}'
    assert messages(text) == [
        "2:47: E103 option 'method' of 'http.listen': 'FETCH' is not one of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']"
    ]


def test_missing_required_option():
    text = "flow f {\n  source in = http.listen()\n  sink out = memory.out()\n  in -> out\n}"
    assert messages(text) == [
        "2:15: E104 'http.listen' needs option 'path': URL path, may hold parameters: /orders/{id}"
    ]


def test_role_must_match_the_kind():
    text = 'flow f {\n  source in = memory.in()\n  transform k = filter(condition: "true")\n  sink out = memory.out()\n  in -> k -> out\n}'
    assert messages(text) == ["3:3: E105 'filter' is a branch, but 'k' is declared as a transform"]


def test_mapping_block_required_and_forbidden():
    text = "flow f {\n  source in = memory.in() { a: 1 }\n  transform m = json.map\n  sink out = memory.out()\n  in -> m -> out\n}"
    assert messages(text) == [
        "2:3: E106 'memory.in' takes no mapping block",
        "3:17: E106 'json.map' needs a mapping block: { field: expression ... }",
    ]


def test_undefined_nodes_and_duplicates_all_reported():
    text = "flow f {\n  source in = memory.in()\n  sink out = memory.out()\n  sink out = memory.out()\n  in -> otu\n  in -> nowhere\n}"
    assert messages(text) == [  # every offender, sorted by position
        "2:3: E121 source 'in' has no way out; its messages would go nowhere",
        "3:3: E120 node 'out' is not reachable from any source",
        "4:8: E111 duplicate node name 'out' (first declared at line 3)",
        "5:9: E110 undefined node 'otu'; did you mean 'out'?",
        "6:9: E110 undefined node 'nowhere'",
    ]


def test_expression_that_does_not_compile():
    text = "flow f {\n  source in = memory.in()\n  transform m = json.map { x: body.x | lowr }\n  sink out = memory.out()\n  in -> m -> out\n}"
    result = compile_text(text, "t.flow", env={})
    (d,) = result.diagnostics
    assert (d.code, d.span.line, d.span.col) == ("E130", 3, 31)
    assert d.message == "expression does not compile: No filter named 'lowr'"
    assert d.hint == "did you mean 'lower'?"


def test_unknown_name_in_expression():
    text = "flow f {\n  source in = memory.in()\n  branch b {\n    when bdy.x -> out\n    else -> out\n  }\n  sink out = memory.out()\n  in -> b\n}"
    result = compile_text(text, "t.flow", env={})
    (d,) = result.diagnostics
    assert (d.code, d.message, d.hint) == (
        "E130",
        "expression does not compile: unknown name 'bdy'",
        "did you mean 'body'?",
    )


def test_template_that_does_not_compile():
    text = 'flow f {\n  source in = memory.in()\n  transform t = template(text: "{{ body.x ")\n  sink out = memory.out()\n  in -> t -> out\n}'
    assert [c for c in codes(text)] == ["E131"]


def test_environment_interpolation_and_unset_variable():
    text = 'flow f {\n  source in = http.listen(path: "/${P}/${Q:-q}")\n  sink out = memory.out()\n  in -> out\n}'
    flow = compile_ok(text, env={"P": "p"})
    assert flow.info("in").options["path"] == "/p/q"
    assert flow.info("in").display_options["path"] == "/${P}/${Q:-q}"
    assert messages(text) == ["2:33: E140 environment variable 'P' is not set"]


def test_schema_file_not_found():
    text = 'flow f {\n  source in = memory.in()\n  transform v = json.validate(schema: "nope.json")\n  sink out = memory.out()\n  in -> v -> out\n}'
    (msg,) = messages(text)
    assert msg == "3:39: E150 file 'nope.json' is not readable from this flow's files root"


def test_schema_found_from_a_parent_directory():
    text = 'flow f {\n  source in = memory.in()\n  transform v = json.validate(schema: "schemas/order.schema.json")\n  sink out = memory.out()\n  in -> v -> out\n}'
    assert codes(text) == []


def test_edge_into_a_source_and_edge_out_of_an_armed_branch():
    text = "flow f {\n  source in = memory.in()\n  branch b {\n    else -> out\n  }\n  sink out = memory.out()\n  in -> b -> out\n  out -> in\n}"
    assert sorted(codes(text)) == ["E113", "E114"]


@pytest.mark.parametrize("kind", ["memory.in", "memory.out", "json.map", "http.listen", "branch"])
def test_every_kind_has_a_consistent_spec(kind):
    from flowengine.compile.registry import default_registry

    spec = default_registry().get(kind)
    assert spec is not None
    schema = spec.options_schema()
    assert schema["additionalProperties"] is False
    assert set(schema["properties"]) == set(spec.options)


def test_invalid_value_from_the_environment_is_reported_without_the_value():
    text = 'flow f {\n  source in = http.listen(path: "/a", method: "${METHOD}")\n  sink out = memory.out()\n  in -> out\n}'
    assert messages(text, env={"METHOD": "s3cr3t"}) == [
        "2:47: E103 option 'method' of 'http.listen': the value of ${METHOD} does not satisfy "
        "'enum': ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']"
    ]


def _options_of(text: str, env: dict[str, str], node: str) -> dict[str, object]:
    flow = compile_ok(text, env=env)
    return dict(flow.graph.nodes[node]["info"].options)


ENV_TYPED = """flow f {
  source in = amqp.consume(queue: "q", prefetch: "${PREFETCH}", declare: "${DECLARE}")
  transform wait = delay(for: "1s", max: "${MAX_DELAY}")
  sink out = http.request(url: "http://127.0.0.1:9/", timeout: "${TIMEOUT}")
  in -> wait -> out
}"""


def test_env_values_take_the_option_type_integer_boolean_duration_number():
    env = {"PREFETCH": "32", "DECLARE": "false", "MAX_DELAY": "90", "TIMEOUT": "2.5"}
    assert {k: v for k, v in _options_of(ENV_TYPED, env, "in").items() if k in ("prefetch", "declare")} == {
        "prefetch": 32, "declare": False,
    }  # fmt: skip
    assert _options_of(ENV_TYPED, env, "wait")["max"] == 90
    assert _options_of(ENV_TYPED, {**env, "MAX_DELAY": "2m"}, "wait")["max"] == "2m"
    assert _options_of(ENV_TYPED, env, "out")["timeout"] == 2.5


def test_an_integer_option_from_the_environment_compiles_and_a_bad_value_names_the_variable_only():
    text = 'flow f {\n  source in = mllp.listen(port: "${PORT}")\n  sink out = memory.out()\n  in -> out\n}'
    assert _options_of(text, {"PORT": "2575"}, "in")["port"] == 2575
    assert messages(text, env={"PORT": "s3cr3t"}) == [
        "2:33: E107 option 'port' of 'mllp.listen': the value of ${PORT} is not an integer"
    ]
    assert messages(text, env={"PORT": "70000"}) == [
        "2:33: E103 option 'port' of 'mllp.listen': the value of ${PORT} does not satisfy 'maximum': 65535"
    ]
    assert messages(ENV_TYPED, env={"PREFETCH": "x", "DECLARE": "no", "MAX_DELAY": "soon", "TIMEOUT": "fast"}) == [
        "2:50: E107 option 'prefetch' of 'amqp.consume': the value of ${PREFETCH} is not an integer",
        "2:74: E107 option 'declare' of 'amqp.consume': the value of ${DECLARE} is not true or false",
        "3:42: E107 option 'max' of 'delay': the value of ${MAX_DELAY} is not a number",
        "4:64: E107 option 'timeout' of 'http.request': the value of ${TIMEOUT} is not a number",
    ]


def test_an_empty_variable_is_an_error_for_a_required_option_and_takes_its_default():
    text = 'flow f {\n  source in = mllp.listen(port: "${PORT}")\n  sink out = memory.out()\n  in -> out\n}'
    assert messages(text, env={"PORT": ""}) == [
        "2:33: E140 environment variable 'PORT' is set but empty (the option is required)"
    ]
    assert messages(text, env={}) == ["2:33: E140 environment variable 'PORT' is not set"]
    assert _options_of(text.replace("${PORT}", "${PORT:-2575}"), {"PORT": ""}, "in")["port"] == 2575
