"""`flowengine lint` output formats (SARIF 2.1.0, GitHub annotations) and its options and exit codes."""

from __future__ import annotations

import json

import jsonschema
import pytest
from typer.testing import CliRunner

from flowengine.cli.main import app
from flowengine.lint.linter import LintOptions, lint_paths
from flowengine.lint.output import github, sarif

# The part of the SARIF 2.1.0 schema (https://json.schemastore.org/sarif-2.1.0.json) that GitHub
# code scanning reads: required members, their types, and the enumerations used.
SARIF_SUBSET = {
    "type": "object",
    "required": ["version", "runs"],
    "properties": {
        "$schema": {"type": "string", "format": "uri"},
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["tool"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name"],
                                "properties": {
                                    "name": {"type": "string"},
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id"],
                                            "properties": {
                                                "id": {"type": "string"},
                                                "shortDescription": {"$ref": "#/$defs/message"},
                                                "help": {"$ref": "#/$defs/message"},
                                                "defaultConfiguration": {
                                                    "type": "object",
                                                    "properties": {"level": {"$ref": "#/$defs/level"}},
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    },
                    "originalUriBaseIds": {
                        "type": "object",
                        "additionalProperties": {"type": "object", "properties": {"uri": {"type": "string"}}},
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["message"],
                            "properties": {
                                "ruleId": {"type": "string"},
                                "ruleIndex": {"type": "integer", "minimum": -1},
                                "level": {"$ref": "#/$defs/level"},
                                "message": {"$ref": "#/$defs/message"},
                                "locations": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "properties": {
                                                            "uri": {"type": "string"},
                                                            "uriBaseId": {"type": "string"},
                                                        },
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "properties": {
                                                            k: {"type": "integer", "minimum": 1}
                                                            for k in ("startLine", "startColumn", "endLine", "endColumn")
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
    "$defs": {
        "level": {"enum": ["none", "note", "warning", "error"]},
        "message": {"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
    },
}

BROKEN = 'flow f {\n  source q = amqp.consume(queue: "q")\n  sink hook = http.request(url: "https://x")\n  sink out = memory.ot()\n  q -> hook\n}\n'
CLEAN = "flow f {\n  source in = memory.in()\n  sink out = memory.out()\n  in -> out\n}\n"
runner = CliRunner()


@pytest.fixture
def broken(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows/broken.flow").write_text(BROKEN)
    return tmp_path / "flows/broken.flow"


def test_sarif_is_valid_2_1_0_and_points_at_the_findings(broken):
    doc = json.loads(sarif(lint_paths([broken], options=LintOptions(env={}))))
    jsonschema.Draft202012Validator(SARIF_SUBSET).validate(doc)
    run = doc["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("W205", "warning"), ("E120", "error"), ("E101", "error")]
    first = results[2]
    assert rules[first["ruleIndex"]]["id"] == "E101"
    assert first["message"]["text"] == "unknown node kind 'memory.ot'; did you mean 'memory.out'?"
    assert first["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "flows/broken.flow", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 4, "startColumn": 14, "endLine": 4, "endColumn": 23},
    }
    assert {r["id"] for r in rules} >= {"E001", "W201", "W207"}  # every documented code is a rule


def test_github_annotations_escape_what_the_workflow_syntax_needs(broken):
    out = github(lint_paths([broken], options=LintOptions(env={}, select=("E101",))))
    assert out == (
        "::error file=flows/broken.flow,line=4,col=14,endLine=4,endColumn=23,title=flowengine E101::"
        "E101 unknown node kind 'memory.ot'; did you mean 'memory.out'?\n"
        "1 file(s) checked: 1 error(s), 0 warning(s)\n"
    )
    multi = github(lint_paths([broken], options=LintOptions(env={}, select=("W205",))))
    assert "(hint: route its failures, e.g. `on error hook -> dead_letters`%2C" not in multi  # data keeps commas
    assert "::warning file=flows/broken.flow,line=3,col=3," in multi


def test_exit_codes_any_finding_is_1_warnings_included(tmp_path):
    (tmp_path / "clean.flow").write_text(CLEAN)
    warned = tmp_path / "warned.flow"
    warned.write_text(BROKEN.replace("  sink out = memory.ot()\n", ""))
    assert runner.invoke(app, ["lint", str(tmp_path / "clean.flow")]).exit_code == 0
    result = runner.invoke(app, ["lint", str(warned)])
    assert result.exit_code == 1 and "W205" in result.stdout and "0 error(s), 1 warning(s)" in result.stdout
    assert runner.invoke(app, ["lint", "--ignore", "W", str(warned)]).exit_code == 0
    assert runner.invoke(app, ["lint", "--select", "E", str(warned)]).exit_code == 0


def test_usage_errors_exit_2(tmp_path):
    (tmp_path / "clean.flow").write_text(CLEAN)
    bad_code = runner.invoke(app, ["lint", "--select", "W2x", str(tmp_path)])
    assert bad_code.exit_code == 2 and "not a code or code prefix: W2X" in bad_code.stderr
    (tmp_path / "bad.env").write_text("A=1\nnot a line\n")
    bad_env = runner.invoke(app, ["lint", "--env-file", str(tmp_path / "bad.env"), str(tmp_path)])
    assert bad_env.exit_code == 2 and f"{tmp_path / 'bad.env'}:2: expected KEY=value" in bad_env.stderr
    assert runner.invoke(app, ["lint", "--env-file", str(tmp_path / "none.env"), str(tmp_path)]).exit_code == 2


def test_env_file_option(tmp_path):
    flow = tmp_path / "f.flow"
    flow.write_text(CLEAN.replace("memory.out()", 'log(message: "${CHANNEL} {{ id }}")'))
    env = tmp_path / "prod.env"
    env.write_text("# production\nexport OTHER='x'\n")
    result = runner.invoke(app, ["lint", "--env-file", str(env), "--format", "json", str(flow)])
    assert result.exit_code == 1
    (d,) = json.loads(result.stdout)["diagnostics"]
    assert (d["code"], d["message"]) == ("E141", f"environment variable 'CHANNEL' is not defined in {env}")
    env.write_text('CHANNEL="orders"\n')
    assert runner.invoke(app, ["lint", "--env-file", str(env), str(flow)]).exit_code == 0


def test_sarif_and_github_from_the_command_line(broken):
    out = runner.invoke(app, ["lint", "--format", "sarif", "flows"])
    assert out.exit_code == 1 and json.loads(out.stdout)["version"] == "2.1.0"
    gh = runner.invoke(app, ["lint", "-f", "github", "flows"])
    assert gh.stdout.startswith("::warning file=flows/broken.flow,line=3,col=3,")
