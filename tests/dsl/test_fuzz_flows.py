"""Mutated flow *bytes* through lint, fmt and graph: diagnostics at file:line:col, never a traceback.

Issue 19: of 2,000 mutated flows, 734 runs ended in RecursionError or
UnicodeDecodeError. The mutations here are those: byte flips, bytes that are
not UTF-8, runs of brackets, deep nesting, truncation. Seeded and derandomized,
so a failure reproduces; a few mutants also go through the CLI in a subprocess.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dsl.formatter import FormatError, format_text
from dsl.source import SourceError, decode
from flowengine.compile.compiler import compile_file
from flowengine.lint.linter import LintOptions, lint_file
from flowengine.pictures.export import FORMATS
from tests.conftest import REPO

SEEDS = [p.read_bytes() for p in sorted((REPO / "flows").glob("*.flow"))]
BRACKETS = st.sampled_from([b"(", b"[", b"{", b")", b"]", b"}", b'"', b"'", b"#", b"\n"])


@st.composite
def mutants(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["nest", "operators", "invalid", "flip", "brackets", "truncate"]))
        if op == "flip" and pos < len(data):
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif op == "invalid":
            data[pos:pos] = draw(st.sampled_from([b"\xff", b"\xe9", b"\xed\xa0\x80", b"\xc3", b"\xef\xbb\xbf"]))
        elif op == "brackets":
            data[pos:pos] = draw(BRACKETS) * draw(st.sampled_from([3000, 1]))
        elif op == "nest":  # a deep value where the grammar takes one: it parses, then recurses
            opener, closer = draw(st.sampled_from([(b"[", b"]"), (b"(", b")"), (b"{a: ", b"}")]))
            depth = draw(st.sampled_from([2000, 300, 40]))
            at, prefix = _value_position(data, draw)
            data[at:at] = prefix + opener * depth + b"1" + closer * depth + (b", " if prefix else b"")
        elif op == "operators":  # in a mapping, a condition or a template: nests in Jinja's parser
            at, prefix = _value_position(data, draw)
            piece = draw(st.sampled_from([b"not ", b"- ", b"(", b"|lower", b".a", b"+1", b"{% if 1 %}"]))
            data[at:at] = piece * draw(st.sampled_from([600, 80])) + (b"1" if piece in (b"not ", b"- ") else b"")
        else:
            del data[pos:]
    return bytes(data)


def _value_position(data: bytearray, draw: st.DrawFn) -> tuple[int, bytes]:
    """Just after an option list's `(` (with a key to make it an option) or after a `: `, an
    `"` or `{{ `: where a value, an expression or a template's text begins."""
    starts = [(i + 1, b"x: ") for i, b in enumerate(data) if b == ord("(")]
    for mark in (b": ", b'"', b"{{ ", b"when "):
        at = data.find(mark)
        while at >= 0:
            starts.append((at + len(mark), b""))
            at = data.find(mark, at + 1)
    return draw(st.sampled_from(starts)) if starts else (0, b"")


def _assert_located(diagnostics: list, path: Path) -> None:
    for d in diagnostics:
        assert d.span.file == str(path) and d.span.line >= 1 and d.span.col >= 1, d
        d.render(None)


def _lint_fmt_graph(path: Path) -> None:
    found, _ = lint_file(path, LintOptions(env={}))
    _assert_located(found, path)
    try:
        format_text(decode(path.read_bytes(), str(path)), str(path))
    except SourceError as err:
        _assert_located([err.diagnostic], path)
    except FormatError as err:
        _assert_located(err.diagnostics, path)
    result = compile_file(path, env={})
    _assert_located(result.diagnostics, path)
    for flow in result.flows if result.ok else []:
        for export in FORMATS.values():
            export(flow)


@settings(max_examples=100, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(mutants())
def test_mutated_flow_bytes_yield_diagnostics_only(tmp_path, data):
    path = tmp_path / "mutant.flow"
    path.write_bytes(data)
    _lint_fmt_graph(path)


def test_the_cli_answers_bad_bytes_and_deep_nesting_with_diagnostics(tmp_path):
    cases = {
        "latin1.flow": SEEDS[0].replace(b"flow ", b"flow \xe9", 1),
        "deep.flow": SEEDS[0].replace(b"{\n", b"{ x: " + b"[" * 3000 + b"\n", 1),
        "number.flow": b"flow f {\n  source a = memory.in(x: 1" + b"0" * 5000 + b")\n}\n",
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        for command in (["lint"], ["fmt", "--check"], ["graph"]):
            done = subprocess.run(
                [sys.executable, "-m", "flowengine.cli.main", *command, str(path)], capture_output=True, text=True,
                timeout=60, check=False,
            )
            out = done.stdout + done.stderr
            assert done.returncode == 1, (command, name, out)
            assert "Traceback" not in out and f"{path}:" in out, (command, name, out)
            assert any(f" E00{c} " in out for c in "456"), (command, name, out)
