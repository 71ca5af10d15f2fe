"""`flowengine test` and `flowengine fmt` as commands: output, files written, exit codes."""

from __future__ import annotations

import re
import shlex
import shutil
import xml.etree.ElementTree as ET

from typer.testing import CliRunner

from flowengine.cli.main import app
from tests.conftest import REPO
from tests.flowengine.test_flowtest import FAILING, FLOW

runner = CliRunner()
PASSING = "cases:\n  - name: big order\n    send: {queue: {json: {id: A, total: 500}}}\n    expect: {vip: 1}\n"


def test_test_command_passes_and_reports_coverage(tmp_path):
    (tmp_path / "shop.flow").write_text(FLOW)
    (tmp_path / "shop.test.yaml").write_text(PASSING)
    result = runner.invoke(app, ["test", str(tmp_path)])
    assert result.exit_code == 0, result.stdout
    assert f"{tmp_path / 'shop.test.yaml'}::big order PASSED" in result.stdout
    assert "3 of 5 edges exercised (60%)" in result.stdout and "1 passed in" in result.stdout
    low = runner.invoke(app, ["test", "--min-coverage", "80", str(tmp_path)])
    assert low.exit_code == 1 and "edge coverage of shop is 60%, under --min-coverage 80" in low.stderr


def test_test_command_fails_and_writes_junit_xml(tmp_path):
    (tmp_path / "shop.flow").write_text(FLOW)
    (tmp_path / "shop.test.yaml").write_text(FAILING)
    junit = tmp_path / "junit.xml"
    result = runner.invoke(app, ["test", "--junit-xml", str(junit), "--no-coverage", str(tmp_path)])
    assert result.exit_code == 1 and "FAILURES" in result.stdout and "edge coverage" not in result.stdout
    assert ET.parse(junit).getroot().get("failures") == "2"


def test_test_command_usage_and_nothing_to_run(tmp_path):
    assert runner.invoke(app, ["test", str(tmp_path / "missing")]).exit_code == 2
    empty = runner.invoke(app, ["test", str(tmp_path)])
    assert empty.exit_code == 1 and "no flow tests (*.test.yaml) found under" in empty.stderr


MESSY = "flow x {\n  source in=memory.in()\n  sink out = memory.out()  # kept\n  in->out\n}\n"
TIDY = "flow x {\n  source in = memory.in()\n  sink out  = memory.out()  # kept\n  in -> out\n}\n"


def test_fmt_check_diff_and_rewrite(tmp_path):
    flow = tmp_path / "x.flow"
    flow.write_text(MESSY)
    check = runner.invoke(app, ["fmt", "--check", str(tmp_path)])
    assert check.exit_code == 1 and check.stdout == f"would reformat {flow}: lines 2-4\n" and flow.read_text() == MESSY
    assert check.stderr == (
        "1 file(s) would be reformatted, 0 unchanged\n"
        f"see the changes with `flowengine fmt --diff {tmp_path}`; make them with `flowengine fmt {tmp_path}`\n"
    )
    diff = runner.invoke(app, ["fmt", "--diff", str(flow)])
    assert diff.exit_code == 1 and diff.stdout.startswith(f"--- {flow}\n+++ {flow}\n")
    assert "-  in->out\n" in diff.stdout and "+  in -> out\n" in diff.stdout
    rewrite = runner.invoke(app, ["fmt", str(tmp_path)])
    assert rewrite.exit_code == 0 and flow.read_text() == TIDY
    assert runner.invoke(app, ["fmt", "--check", str(flow)]).exit_code == 0


def test_fmt_check_names_the_lines_that_differ(tmp_path):
    flow = tmp_path / "x.flow"
    flow.write_text(TIDY[: TIDY.index("  in ->")] + "\n\n\n  in->out\n}\n")  # one blank line kept, two go
    check = runner.invoke(app, ["fmt", "--check", str(flow)])
    assert check.stdout == f"would reformat {flow}: lines 5-7\n"
    flow.write_text(TIDY.rstrip("\n"))  # only the final newline is missing
    assert runner.invoke(app, ["fmt", "--check", str(flow)]).stdout == f"would reformat {flow}: line 5\n"
    flow.write_text(TIDY.replace("source in =", "source in  =").replace("in -> out", "in->out"))
    assert runner.invoke(app, ["fmt", "--check", str(flow)]).stdout == f"would reformat {flow}: lines 2, 4\n"


def test_fmt_reads_standard_input_and_refuses_what_does_not_parse(tmp_path):
    piped = runner.invoke(app, ["fmt", "-"], input=MESSY)
    assert piped.exit_code == 0 and piped.stdout == TIDY
    bad = tmp_path / "bad.flow"
    bad.write_text("flow x {\n  in => out\n}\n")
    result = runner.invoke(app, ["fmt", "--check", str(tmp_path)])
    assert result.exit_code == 1 and f"{bad}:2:6: E001 syntax error" in result.stderr
    assert bad.read_text() == "flow x {\n  in => out\n}\n"


def documented_commands() -> list[list[str]]:
    """The `flowengine ...` commands of docs/ci.md (workflow steps, hooks, the git hook), as argv."""
    text = (REPO / "docs/ci.md").read_text()
    found = re.findall(r"^\s*(?:run: |entry: )?(flowengine [^#\n]*?)\s*(?:#.*)?$", text, re.M)
    commands = []
    for line in found:
        argv = shlex.split(re.split(r"[<>]|\|\|", line)[0])[1:]
        if argv[0] in ("fmt", "lint") and not any(a.endswith("/") for a in argv) and "-" not in argv:
            argv.append("flows/")  # a pre-commit hook gets the changed files
        commands.append(argv)
    return commands


def test_the_commands_of_the_ci_page_pass_on_the_example_flows(tmp_path, monkeypatch):
    shutil.copytree(REPO / "flows", tmp_path / "flows")
    shutil.copytree(REPO / "schemas", tmp_path / "schemas")
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["fmt", "flows/"]).exit_code == 0  # the examples' owners have not run it yet
    commands = documented_commands()
    assert {c[0] for c in commands} == {"lint", "test", "fmt"} and len(commands) >= 8
    for argv in commands:
        if argv[0] == "fmt" and not {"--check", "--diff", "-"} & set(argv):
            continue  # it rewrites files
        stdin = (tmp_path / "flows/hello.flow").read_text() if "-" in argv else None
        result = runner.invoke(app, argv, input=stdin)
        assert result.exit_code == 0, f"flowengine {' '.join(argv)}:\n{result.stdout}{result.stderr}"
