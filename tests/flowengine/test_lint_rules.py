"""Lint rules: every documented code's example shows it and its fix is clean; each rule in detail."""

from __future__ import annotations

from pathlib import Path

import pytest

from dsl.diagnostics import Diagnostic, Severity
from flowengine.compile.build import BuildContext
from flowengine.compile.registry import Registry, default_registry
from flowengine.compile.spec import Field, KindSpec, Role
from flowengine.core.nodes import Transform
from flowengine.lint.docs import rules_reference
from flowengine.lint.linter import LintOptions, lint_paths, lint_text
from flowengine.lint.rules import ALL, CHECKS, ENV_FILE
from tests.conftest import REPO

BASE = REPO / "flows"


def lint(text: str, **options: object) -> list[Diagnostic]:
    return lint_text(text, "t.flow", base_dir=BASE, options=LintOptions(**{"env": {}, **options}))  # type: ignore[arg-type]


def codes(text: str, **options: object) -> list[str]:
    return [d.code for d in lint(text, **options)]


def only(text: str, code: str) -> Diagnostic:
    (d,) = [d for d in lint(text) if d.code == code]
    return d


DOCUMENTED = [r for r in ALL if r.example is not None]


@pytest.mark.parametrize("rule", DOCUMENTED, ids=[r.code for r in DOCUMENTED])
def test_each_code_has_an_example_that_shows_it_and_a_fix_that_is_clean(rule):
    env_file = "prod.env" if rule is ENV_FILE else None
    assert rule.code in codes(rule.example, env_file=env_file)
    assert lint(rule.fixed, env_file=env_file) == []


def test_codes_are_unique_and_their_letter_is_their_severity():
    all_codes = [r.code for r in ALL]
    assert len(all_codes) == len(set(all_codes)) and all(r in ALL for r in CHECKS)
    for rule in ALL:
        assert rule.severity is (Severity.WARNING if rule.code[0] == "W" else Severity.ERROR)
        assert rule.summary and not rule.summary[0].isupper()


def test_the_committed_rule_list_is_generated_from_the_rules():
    page = (REPO / "docs/diagnostics.md").read_text()
    assert page == rules_reference(BASE), "stale: run .venv/bin/python -m flowengine.lint.docs docs/diagnostics.md"


HEAD = "flow f {\n  source in = memory.in()\n  sink out = memory.out()\n"


# --- W201 nodes that never get a message -------------------------------------------------------
def test_w201_error_route_of_a_source():
    d = only(HEAD + '  sink failed = log()\n  in -> out\n  on error in -> failed\n}\n', "W201")
    assert d.message == "sink 'failed' never gets a message: it handles the errors of source 'in', and a source never fails"
    assert (d.span.line, d.span.col) == (4, 3) and d.severity is Severity.WARNING


def test_w201_flow_wide_handler_every_node_bypasses():
    text = HEAD + "  transform t = json.map { a: 1 }\n  sink dl = log()\n  sink failed = log()\n  in -> t -> out\n"
    bypassed = text + "  on error t -> dl\n  on error out -> dl\n  on error -> failed\n}\n"
    assert only(bypassed, "W201").message == (
        "sink 'failed' never gets a message: every node it would handle has an error route of its own"
    )
    assert "W201" not in codes(text + "  on error t -> dl\n  on error -> failed\n}\n")  # `out` uses it


def test_w201_target_of_arms_that_are_never_taken_only():
    branch = "  sink eu = memory.out()\n  branch r {\n      when false -> eu\n      %s\n  }\n  in -> r\n}\n"
    assert "W201" in codes(HEAD + branch % "else -> out")
    assert "W201" not in codes(HEAD + branch % "when body.eu -> eu\n      else -> out")


def test_w201_leaves_unconnected_nodes_to_e120():
    assert codes(HEAD + "  sink lone = memory.out()\n  in -> out\n}\n") == ["E120"]


# --- W202 shadowed names -----------------------------------------------------------------------
def test_w202_mapping_field_overwritten_later():
    text = HEAD + "  transform t = json.map {\n      a.b: 1\n      a: 2\n      c: 3\n  }\n  in -> t -> out\n}\n"
    d = only(text, "W202")
    assert d.message == "field 'a.b' is overwritten by 'a' (line 6); its value here is lost"
    assert (d.span.line, d.span.col) == (5, 7)


def test_w202_a_parent_then_its_child_is_a_merge_not_a_shadow():
    assert codes(HEAD + "  transform t = json.map {\n      a: {}\n      a.b: 1\n  }\n  in -> t -> out\n}\n") == []


def test_w202_repeated_key_in_a_dictionary_option():
    text = 'flow f {\n  source in = memory.in()\n  sink out = http.reply(headers: {"x-a": "1", "x-a": "2"})\n  in -> out\n}\n'
    d = only(text, "W202")
    assert d.message == "key 'x-a' is given again (line 3); the value here is ignored"
    assert d.span.col == 35


# --- W203 / W204 conditions --------------------------------------------------------------------
def test_w203_constant_filter_conditions():
    text = HEAD + '  branch keep = filter(condition: "%s")\n  in -> keep -> out\n}\n'
    assert only(text % "1 > 2", "W203").message == "filter 'keep' has a constant condition: it drops every message"
    assert only(text % "true", "W203").message == "filter 'keep' has a constant condition: it passes every message"
    assert codes(text % "body.n > 2") == []
    assert codes(text % "now() > 0") == []  # calls a function: not constant


def test_w204_every_arm_after_an_always_true_one():
    text = HEAD + (
        "  branch r {\n      when 1 in [1, 2] -> out\n      when body.a -> out\n      else -> out\n  }\n  in -> r\n}\n"
    )
    found = [d for d in lint(text) if d.code == "W204"]
    assert [d.span.line for d in found] == [6, 7]
    assert found[0].message == "the arm to 'out' is never taken: `when 1 in [1, 2]` (line 5) matches every message first"


# --- W205 sinks without error handling ----------------------------------------------------------
HOOK = 'flow f {\n  source %s\n  sink hook = http.request(url: "https://example.com/hook")\n  sink dl = log()\n  src -> hook\n%s}\n'


def test_w205_only_where_a_broker_would_redeliver():
    amqp = 'src = amqp.consume(queue: "q")'
    assert only(HOOK % (amqp, ""), "W205").message == (
        "sink 'hook' (http.request) has no error route: when it fails, the source message is not acknowledged "
        "and the broker delivers it again (a lasting fault repeats forever)"
    )
    assert "W205" not in codes(HOOK % (amqp, "  on error hook -> dl\n"))
    assert "W205" not in codes(HOOK % (amqp, "  on error -> dl\n"))
    assert "W205" not in codes(HOOK % ('src = http.listen(path: "/in")', ""))  # the caller gets the error


def test_w205_in_an_error_route_suggests_no_error_route():
    """A failure inside an error route is not routed again (runtime.md): no `on error dl -> ...` hint."""
    text = (
        'flow f {\n  source src = amqp.consume(queue: "q")\n  sink hook = http.request(url: "https://example.com/hook")\n'
        '  sink dl = amqp.publish(exchange: "dead")\n  src -> hook\n  on error hook -> dl\n}\n'
    )
    d = only(text, "W205")
    assert d.message == (
        "sink 'dl' (amqp.publish) is in an error route, where a failure is not routed again: when it fails, "
        "the source message is not acknowledged and the broker delivers it again (a lasting fault repeats forever)"
    )
    assert d.hint is not None and "on error dl" not in d.hint and "dead_letter()" in d.hint


# --- W206 json.map fields the input schema lacks ------------------------------------------------
def schema_flow(expr: str, between: str = "") -> str:
    return (
        'flow f {\n  source in = memory.in()\n  transform check = json.validate(schema: "schemas/order.schema.json")\n'
        f"{between}  transform m = json.map {{ v: {expr} }}\n  sink out = memory.out()\n"
        f"  in -> check -> {'t -> ' if between else ''}m -> out\n}}\n"
    )


def test_w206_follows_refs_and_array_items():
    assert codes(schema_flow('body.customer.name ~ body["items"][0].sku')) == []
    d = only(schema_flow("body.customer.nme | upper"), "W206")
    assert d.message == "'body.customer.nme' is not in the schema of 'check' (order.schema.json); it reads as null"
    assert d.hint == "did you mean 'name'?"
    assert only(schema_flow('body["items"][0].skew'), "W206").message.startswith("'body.items[0].skew' is not in")


def test_w206_reports_the_first_unknown_level_once():
    assert [d.hint for d in lint(schema_flow("body.custmer.name")) if d.code == "W206"] == ["did you mean 'customer'?"]


def test_w206_only_when_the_body_reaching_the_map_is_the_validated_one():
    reshaped = "  transform t = json.map { custmer: body.customer }\n"
    assert codes(schema_flow("body.custmer", between=reshaped)) == []
    logged = "  sink t = log()\n"
    assert codes(schema_flow("body.custmer", between=logged)) == ["W206"]


# --- W207 plain-text secrets ---------------------------------------------------------------------
SECRET = 'flow f {\n  source in = memory.in()\n  sink out = %s\n  in -> out\n}\n'


@pytest.mark.parametrize(
    ("sink", "flagged"),
    [
        ('http.request(url: "https://api.example.com", headers: {"x-api-key": "k-123"})', True),
        ('http.request(url: "https://bob:hunter2@api.example.com")', True),
        ('amqp.publish(url: "amqp://rabbit.example.com/", exchange: "x")', False),  # a secret option, no password
        ('amqp.publish(url: "amqp://app:s3cret@rabbit.example.com/", exchange: "x")', True),
        ('amqp.publish(url: "amqp://app:${AMQP_PASSWORD}@rabbit.example.com/", exchange: "x")', False),
        ('http.request(url: "https://x", headers: {"Authorization": "Bearer ${TOKEN:-dev}"})', False),
        ('http.request(url: "https://x", headers: {"Authorization": "{{ headers.authorization }}"})', False),
        ('http.request(url: "${HOOK_URL:-https://u:p@localhost}")', False),  # a default is for local use
    ],
)
def test_w207_plaintext_secrets(sink, flagged):
    assert ("W207" in codes(SECRET % sink)) is flagged


def test_w207_message_and_hint():
    d = only(SECRET % 'http.request(url: "https://x", headers: {"x-api-key": "k-123"})', "W207")
    assert d.message == "'x-api-key' is written in plain text; anyone who can read this file can read it"
    assert d.hint == 'read it from the environment: "${X_API_KEY}"'


# --- suppression, selection, environment files ----------------------------------------------------
UNHANDLED = 'flow f {\n  source q = amqp.consume(queue: "q")\n  sink hook = http.request(url: "https://x")%s\n  q -> hook\n}\n'


def test_ignore_comment_drops_the_named_codes_on_its_line_only():
    assert codes(UNHANDLED % "") == ["W205"]
    assert codes(UNHANDLED % "  # flowengine: ignore[W205]") == []
    assert codes(UNHANDLED % "  # flowengine: ignore[W2, E1]") == []
    assert codes(UNHANDLED % "  # flowengine: ignore[W207]") == ["W205"]
    assert codes(UNHANDLED.replace("  q -> hook", "  q -> hook  # flowengine: ignore[W205]") % "") == ["W205"]


def test_select_and_ignore_by_prefix():
    text = HEAD + '  sink failed = log()\n  sink x = memory.ot()\n  in -> out\n  on error in -> failed\n}\n'
    assert codes(text) == ["W201", "E120", "E101"]
    assert codes(text, select=("W",)) == ["W201"]
    assert codes(text, ignore=("E12", "W201")) == ["E101"]
    assert codes(text, select=("E",), ignore=("E101",)) == ["E120"]


def test_env_file_turns_unset_variables_into_e141():
    text = 'flow f {\n  source in = memory.in(channel: "${A}")\n  sink out = log(message: "${B:-x} ${C}")\n  in -> out\n}\n'
    found = lint(text, env={"A": "orders"}, env_file="deploy/prod.env")
    assert [(d.code, d.message) for d in found] == [("E141", "environment variable 'C' is not defined in deploy/prod.env")]
    assert found[0].hint == "add C=... to deploy/prod.env, or give a default: ${C:-value}"


def test_build_errors_of_installed_kinds_show_up_in_lint():
    """XPath, XSLT and HL7 kinds report their problems by raising BuildError at compile time."""

    def build(ctx: BuildContext) -> Transform:
        raise ctx.fail("XPath does not compile: Invalid expression", "xpath", code="E130")

    registry = Registry()
    for spec in default_registry().walk():
        registry.register(spec)
    xpath = Field({"type": "string"}, "An XPath")
    registry.register(KindSpec("test.xpath", Role.TRANSFORM, "An XML kind", build, options={"xpath": xpath}))
    text = HEAD + '  transform x = test.xpath(xpath: "//order[")\n  in -> x -> out\n}\n'
    (d,) = lint(text, registry=registry)
    assert d.headline() == "t.flow:4:35: E130 XPath does not compile: Invalid expression"


def test_many_files_lint_in_parallel_with_the_same_result(tmp_path, monkeypatch):
    for i in range(12):
        body = "  in -> out\n" if i % 3 else "  in -> ot\n"
        (tmp_path / f"f{i:02}.flow").write_text(f"flow f{i} {{\n  source in = memory.in()\n  sink out = memory.out()\n{body}}}\n")
    serial = lint_paths([tmp_path], options=LintOptions(env={}))
    monkeypatch.setattr("flowengine.lint.linter.PARALLEL_FROM", 4)
    parallel = lint_paths([tmp_path], options=LintOptions(env={}))
    assert parallel == serial and [Path(f).name for f in parallel.files][:2] == ["f00.flow", "f01.flow"]
    assert [d.code for d in parallel.diagnostics] == ["E121", "E120", "E110"] * 4
