"""Rules on the stateful patterns (flowengine.kinds.patterns): aggregates whose groups could
wait forever, or time out with nowhere to go."""

from __future__ import annotations

from collections.abc import Iterator

from flowengine.compile.graph import EdgeKind, NodeInfo
from flowengine.lint.rules.base import Finding, LintContext, Rule


def _completes_by_content(info: NodeInfo) -> bool:
    """An aggregate completed by its size or a condition, so a timeout leaves it incomplete."""
    return info.kind == "aggregate" and ("size" in info.options or "complete_when" in info.options)


def unhandled_timeout(ctx: LintContext) -> Iterator[Finding]:
    flow = ctx.compiled
    if flow.error_handler:
        return
    for info in flow.infos():
        if _completes_by_content(info) and "timeout" in info.options and not flow.successors(info.name, EdgeKind.ERROR):
            yield Finding(
                f"aggregate '{info.name}' sends groups that time out incomplete to its error route, but it has "
                "none: such a group would stay in the store and be retried forever",
                info.span,
                f"add `on error {info.name} -> <node>` (e.g. a dead_letter or log sink)",
            )


def endless_group(ctx: LintContext) -> Iterator[Finding]:
    for info in ctx.compiled.infos():
        if _completes_by_content(info) and "timeout" not in info.options:
            yield Finding(
                f"aggregate '{info.name}' has no timeout: a group whose last message never comes stays in the "
                "store for ever",
                info.span,
                'add a timeout, e.g. `timeout: "5m"`, and an error route for the incomplete groups',
            )


_HANDLED = """\
flow f {
  source in = memory.in()
  transform g = aggregate(size: 3, timeout: "1m")
  sink out = memory.out()
  sink late = memory.out()
  in -> g -> out
  on error g -> late
}
"""
"""An aggregate as it should be: a size, a timeout, and a route for the groups that time out."""

UNHANDLED_TIMEOUT = Rule(
    "W208",
    "an aggregate whose groups can time out incomplete has no error route to send them to",
    """\
flow f {
  source in = memory.in()
  transform g = aggregate(size: 3, timeout: "1m")
  sink out = memory.out()
  in -> g -> out
}
""",
    _HANDLED,
    unhandled_timeout,
)

ENDLESS_GROUP = Rule(
    "W209",
    "an aggregate completed by size or condition has no timeout (an incomplete group waits for ever)",
    """\
flow f {
  source in = memory.in()
  transform g = aggregate(size: 3)
  sink out = memory.out()
  in -> g -> out
}
""",
    _HANDLED,
    endless_group,
)
