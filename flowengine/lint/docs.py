"""Generate docs/diagnostics.md, the one list of diagnostic codes, from the rule objects.

Each code's example is linted as the page is written, and what the linter
printed goes on the page, so the documentation shows real output. A test
compares the committed page with a fresh one. Refresh it with

    .venv/bin/python -m flowengine.lint.docs docs/diagnostics.md
"""

from __future__ import annotations

import sys
from pathlib import Path

from dsl.formatter import FormatError, format_text
from flowengine.lint.linter import LintOptions, lint_text
from flowengine.lint.rules import ALL, ENV_FILE, Rule

EXAMPLE_FILE = "example.flow"
EXAMPLE_ENV_FILE = "prod.env"

_INTRO = """\
# Diagnostics and lint rules

Every problem in a flow file is reported the same way, by `flowengine lint`, by `flowengine run`
and `flowengine graph` before they start, by the REST API, and (as JSON or SARIF) to machines:

    flows/orders.flow:3:20: E101 unknown node kind 'json.mapp'; did you mean 'json.map'?
          transform norm = json.mapp {
                           ^~~~~~~~~

Lines and columns are 1-based. Codes starting with `E` are errors: `flowengine run` refuses a
flow with one. Codes starting with `W` are warnings: the flow runs, but probably not as meant.
E0xx come from the parser, E1xx from the compiler (they run on every compile), E2xx and W2xx
from the linter's own rules.

## Running the linter

    flowengine lint flows/                         # text: source line and caret
    flowengine lint --format json flows/           # {"files", "errors", "warnings", "diagnostics": [...]}
    flowengine lint --format sarif flows/ > lint.sarif   # GitHub code scanning
    flowengine lint --format github flows/         # annotations in a GitHub Actions job
    flowengine lint --select E,W205 --ignore W203 flows/
    flowengine lint --env-file deploy/prod.env flows/

- **Exit codes**: 0 nothing reported, 1 any finding (an error *or* a warning: a warning in CI is
  a question someone should answer), 2 a usage error (a missing path, an unknown option, a bad
  code). To let warnings pass, `--ignore W`.
- **`--select` / `--ignore`** take codes or prefixes (`E1`, `W2`, `W205`), comma-separated or
  repeated. `--select` keeps only what matches; `--ignore` drops what matches.
- **`# flowengine: ignore[CODE, ...]`** at the end of a line drops those codes (or prefixes)
  reported on that line, e.g. `sink hook = http.request(...)  # flowengine: ignore[W205]`.
- **`--env-file FILE`** checks every `${NAME}` against a `KEY=value` file instead of the
  process environment: a name the file lacks (with no `:-default`) is E141. Without it, an unset
  variable is E140, checked against the environment `lint` runs in.
- JSON schema validity, XPath, XSLT and template syntax are checked by the kinds themselves
  when a flow compiles; they show up here with the codes below (E130, E131, E150, E151).
"""


def _shown(example: str) -> str:
    """An example as the page shows it: in `flowengine fmt`'s layout, so that a reader who copies
    it passes `fmt --check`; one that does not parse (a syntax error's example) as written."""
    try:
        return format_text(example, EXAMPLE_FILE)
    except FormatError:
        return example


def _example_output(rule: Rule, example: str, base_dir: Path) -> str:
    env_file = EXAMPLE_ENV_FILE if rule is ENV_FILE else None
    options = LintOptions(env={}, env_file=env_file)
    found = lint_text(example, EXAMPLE_FILE, base_dir=base_dir, options=options)
    text = next(d.render(example) for d in found if d.code == rule.code)
    return text.replace(str(base_dir.parent) + "/", "").replace(str(base_dir.parent), ".")


def _indent(text: str) -> str:
    return "\n".join("    " + line if line else "" for line in text.rstrip("\n").split("\n"))


def rules_reference(base_dir: Path) -> str:
    """The page. `base_dir` is where the examples' files resolve (the repository's flows/)."""
    out = [_INTRO, "## All codes", "", "| code | severity | meaning |", "|---|---|---|"]
    out += [f"| [{r.code}](#{r.code.lower()}) | {r.severity.value} | {r.summary} |" for r in ALL]
    out += ["", "## Each code, with an example", ""]
    for rule in ALL:
        out += [f"### {rule.code}", "", f"{rule.summary[0].upper()}{rule.summary[1:]} ({rule.severity.value}).", ""]
        if rule.example is None:
            continue
        if rule is ENV_FILE:
            out += [f"With `--env-file {EXAMPLE_ENV_FILE}`, a file that does not define `LOG_PREFIX`:", ""]
        example = _shown(rule.example)
        out += [_indent(example), "", "reports", "", _indent(_example_output(rule, example, base_dir)), ""]
        if rule.fixed is not None:
            out += ["and is fixed by", "", "```flow", _shown(rule.fixed).rstrip("\n"), "```", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str]) -> None:
    repo = Path(__file__).resolve().parents[1]
    text = rules_reference(repo / "flows")
    if argv:
        Path(argv[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv[1:])
