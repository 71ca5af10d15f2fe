"""Random and mutated text through parser and compiler: only diagnostics come out."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowengine.compile.compiler import compile_text
from tests.conftest import REPO

SEEDS = [p.read_text() for p in sorted((REPO / "flows").glob("*.flow"))]
ALPHABET = st.sampled_from([*list('flowsurcetanmbhkdig{}()[]:,->=."#\\$\n _0123456789'), "when", "else", "->", "${X}"])


def _check(text: str) -> None:
    result = compile_text(text, "fuzz.flow", env={})
    for d in result.diagnostics:
        assert d.span.line >= 1 and d.span.col >= 1
        d.render(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ALPHABET, max_size=80))
def test_random_text_yields_diagnostics_only(pieces):
    _check(" ".join(pieces))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SEEDS), st.data())
def test_mutated_example_flows_yield_diagnostics_only(seed, data):
    chars = list(seed)
    for _ in range(data.draw(st.integers(1, 6))):
        pos = data.draw(st.integers(0, len(chars)))
        op = data.draw(st.sampled_from(["delete", "insert", "replace"]))
        piece = data.draw(ALPHABET)
        if op == "delete" and pos < len(chars):
            del chars[pos]
        elif op == "insert":
            chars.insert(pos, piece)
        elif pos < len(chars):
            chars[pos] = piece
    _check("".join(chars))
