"""Rules on routing conditions: ones that are constant, and arms that can never be taken.

A condition is constant when it reads nothing from the message: only literals,
comparisons and `and`/`or`/`not`. Only such expressions are evaluated here
(by Jinja's own constant folding), so linting never runs a flow's code.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import jinja2
from jinja2 import nodes

from dsl import ast
from flowengine.expressions.depth import check
from flowengine.lint.rules.base import Finding, LintContext, Rule

_ENV = jinja2.Environment(autoescape=False)
_CONSTANT_NODES = (
    nodes.Template,
    nodes.Output,
    nodes.Const,
    nodes.List,
    nodes.Tuple,
    nodes.Dict,
    nodes.Pair,
    nodes.Compare,
    nodes.Operand,
    nodes.And,
    nodes.Or,
    nodes.Not,
    nodes.Neg,
    nodes.Pos,
)
_UNKNOWN = object()


@functools.lru_cache(maxsize=4096)
def constant_value(source: str) -> Any:
    """The value of a condition that reads nothing from the message, else `_UNKNOWN`."""
    try:
        check(_ENV, source, expression=True)
        tree = _ENV.parse("{{ (" + source + ") }}")
    except jinja2.TemplateSyntaxError:
        return _UNKNOWN  # E130 reports it
    if not all(isinstance(n, _CONSTANT_NODES) for n in tree.find_all(nodes.Node)):
        return _UNKNOWN
    (output,) = tree.body
    assert isinstance(output, nodes.Output)
    try:
        return output.nodes[0].as_const(nodes.EvalContext(_ENV))
    except (nodes.Impossible, TypeError):
        return _UNKNOWN


def _arms(ctx: LintContext) -> Iterator[ast.BranchDecl]:
    for stmt in ctx.flow.statements:
        if isinstance(stmt, ast.BranchDecl):
            yield stmt


def _filters(ctx: LintContext) -> Iterator[tuple[ast.NodeDecl, ast.Option]]:
    for stmt in ctx.flow.statements:
        if isinstance(stmt, ast.NodeDecl) and stmt.kind == "filter":
            for opt in stmt.options:
                if opt.key == "condition" and isinstance(opt.value, ast.StringValue) and not opt.value.has_env:
                    yield stmt, opt


def constant_conditions(ctx: LintContext) -> Iterator[Finding]:
    for branch in _arms(ctx):
        for arm in branch.arms:
            if arm.condition is None or arm.condition_span is None:
                continue
            value = constant_value(arm.condition)
            if value is not _UNKNOWN and not value:
                yield Finding(
                    f"condition `{arm.condition}` is always false: the arm to '{arm.target}' is never taken",
                    arm.condition_span,
                    "compare a field of the message, e.g. `body.region == \"eu\"`",
                )
    for decl, opt in _filters(ctx):
        value = constant_value("".join(p for p in opt.value.parts if isinstance(p, str)))  # type: ignore[union-attr]
        if value is not _UNKNOWN:
            effect = "passes every message" if value else "drops every message"
            yield Finding(f"filter '{decl.name}' has a constant condition: it {effect}", opt.value.span)


def _always(arm: ast.Arm) -> bool:
    if arm.condition is None:
        return False
    value = constant_value(arm.condition)
    return value is not _UNKNOWN and bool(value)


def never_taken(branch: ast.BranchDecl) -> list[ast.Arm]:
    """The arms of a branch no message can take: constant-false ones, and all after an always-true one."""
    out: list[ast.Arm] = []
    for i, arm in enumerate(branch.arms):
        if _always(arm):
            return out + list(branch.arms[i + 1 :])
        if arm.condition is not None and constant_value(arm.condition) is not _UNKNOWN:
            out.append(arm)
    return out


def arms_after_unconditional(ctx: LintContext) -> Iterator[Finding]:
    for branch in _arms(ctx):
        always = next((a for a in branch.arms if _always(a)), None)
        if always is None or always.condition_span is None:
            continue
        for arm in branch.arms[branch.arms.index(always) + 1 :]:
            yield Finding(
                f"the arm to '{arm.target}' is never taken: `when {always.condition}` "
                f"(line {always.condition_span.line}) matches every message first",
                arm.condition_span or arm.target_span,
                "remove the arms after it, or make its condition read the message",
            )


_BRANCH = """\
flow f {
  source in = memory.in()
  sink eu = memory.out()
  sink rest = memory.out()
  branch route {
      %s
  }
  in -> route
}
"""

CONSTANT = Rule(
    "W203",
    "a branch or filter condition that reads nothing from the message, so it never changes",
    _BRANCH % 'when "eu" == "EU" -> eu\n      else -> rest',
    _BRANCH % 'when body.region == "eu" -> eu\n      else -> rest',
    constant_conditions,
)

AFTER_UNCONDITIONAL = Rule(
    "W204",
    "an arm after a `when` that is always true (it can never be taken)",
    _BRANCH % "when true -> eu\n      else -> rest",
    _BRANCH % 'when body.region == "eu" -> eu\n      else -> rest',
    arms_after_unconditional,
)
