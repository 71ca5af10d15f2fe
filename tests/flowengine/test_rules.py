"""Graph rules: one failing and one passing case per rule."""

from __future__ import annotations

import pytest

from flowengine.compile.compiler import compile_text
from tests.conftest import codes

HEAD = "flow f {\n  source in = memory.in()\n  sink out = memory.out()\n"


@pytest.mark.parametrize(
    ("code", "failing", "passing"),
    [
        ("E124", "flow f {\n  sink out = memory.out()\n}", HEAD + "  in -> out\n}"),
        (
            "E120",
            HEAD + "  sink lone = memory.out()\n  in -> out\n}",
            HEAD + "  sink lone = memory.out()\n  in -> out\n  in -> lone\n}",
        ),
        (
            "E121",
            HEAD + "  transform t = json.map { a: 1 }\n  in -> t\n}",
            HEAD + "  transform t = json.map { a: 1 }\n  in -> t -> out\n}",
        ),
        (
            "E122",
            HEAD
            + "  transform a = json.map { a: 1 }\n  transform b = json.map { b: 1 }\n  in -> a -> b -> a\n  b -> out\n}",
            HEAD + "  transform a = json.map { a: 1 }\n  transform b = json.map { b: 1 }\n  in -> a -> b -> out\n}",
        ),
        (
            "E123",
            HEAD + "  branch r {\n    when body.a -> out\n  }\n  in -> r\n}",
            HEAD + "  branch r {\n    when body.a -> out\n    else -> out\n  }\n  in -> r\n}",
        ),
    ],
)
def test_rule(code, failing, passing):
    assert code in codes(failing)
    assert codes(passing) == []


def test_cycle_message_names_the_loop():
    text = (
        HEAD
        + "  transform a = json.map { a: 1 }\n  transform b = json.map { b: 1 }\n  in -> a -> b -> a\n  b -> out\n}"
    )
    (d,) = [d for d in compile_text(text, "t.flow", env={}).diagnostics if d.code == "E122"]
    assert d.message == "cycle: a -> b -> a"
    assert (d.span.line, d.span.col) == (4, 3)


def test_sink_with_successors_is_not_a_dead_end_and_error_handler_is_reachable():
    text = (
        HEAD
        + "  sink dead = memory.out()\n  transform t = json.map { a: body.a }\n  in -> t -> out\n  on error -> dead\n}"
    )
    assert codes(text) == []
