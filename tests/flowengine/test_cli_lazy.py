"""Sub-commands imported when they run: listed, suggested and run as if they were not lazy."""

from __future__ import annotations

import re
import subprocess
import sys

from typer.testing import CliRunner

from flowengine.cli.main import app

runner = CliRunner()
COMMANDS = ["lint", "graph", "run", "docs", "serve", "deploy", "flows", "undeploy", "test", "fmt", "lsp", "dlq"]


def test_help_lists_every_command_in_order_with_its_summary():
    out = runner.invoke(app, ["--help"], terminal_width=120).output
    rows = [m[1] for m in re.finditer(r"^│ (\S+)", out, re.MULTILINE) if m[1] in COMMANDS]
    assert rows == COMMANDS
    assert "Run the engine with its management API" in out  # serve's summary, from its own module
    assert "Dead letters: list, show (explain), replay after a fix, purge." in out


def test_a_misspelt_command_is_suggested_among_the_lazy_ones_too():
    result = runner.invoke(app, ["serv"])
    assert result.exit_code == 2
    assert "No such command 'serv'. Did you mean 'serve'?" in result.output
    result = runner.invoke(app, ["dlq", "lst"])
    assert result.exit_code == 2
    assert "No such command 'lst'. Did you mean 'list'?" in result.output


def test_a_lazy_group_takes_its_options():
    result = runner.invoke(app, ["dlq", "list", "--help"], terminal_width=120)
    assert result.exit_code == 0, result.output
    assert "--state" in result.output


def test_run_imports_none_of_the_other_commands_modules():
    check = (
        "import sys\n"
        "from flowengine.cli.main import app\n"
        "try:\n"
        "    app(['run', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "shared = {'flowengine.cli', 'flowengine.cli.main', 'flowengine.cli.reach_options'}\n"
        "print(sorted(m for m in sys.modules if m.startswith('flowengine.cli') and m not in shared or m == 'httpx'))\n"
    )
    proc = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "['flowengine.cli.lazy']"
