"""What a lint rule is, and what it reads.

A `Rule` documents one diagnostic code: its one-line summary, a flow that
triggers it and the same flow fixed. The code's severity is its letter (E
error, W warning). Rules with a `check` are run by the linter over each
compiled flow; the others document what the parser and compiler report. The
examples are executed by the tests and rendered into docs/diagnostics.md, so
the rule list, its docs and its behaviour cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import NamedTuple

from dsl import ast
from dsl.diagnostics import Diagnostic, Severity
from flowengine.compile.files import FileRoot
from flowengine.compile.graph import CompiledFlow


@dataclass(frozen=True)
class LintContext:
    """One flow as the rules see it: the syntax as written and the compiled graph."""

    flow: ast.Flow
    compiled: CompiledFlow
    files: FileRoot = field(default_factory=lambda: FileRoot.of(None))  # where its file names (schemas) resolve

    @property
    def decls(self) -> dict[str, ast.NodeDecl | ast.BranchDecl]:
        out: dict[str, ast.NodeDecl | ast.BranchDecl] = {}
        for stmt in self.flow.statements:
            if isinstance(stmt, ast.NodeDecl | ast.BranchDecl):
                out.setdefault(stmt.name, stmt)
        return out


class Finding(NamedTuple):
    """What a check found; the rule running it adds its code and severity."""

    message: str
    span: ast.Span
    hint: str | None = None


Check = Callable[[LintContext], Iterator[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    summary: str
    example: str | None  # a flow that triggers the code (None: not expressible as a flow)
    fixed: str | None = None  # the example, corrected
    check: Check | None = None

    @property
    def severity(self) -> Severity:
        return Severity.WARNING if self.code.startswith("W") else Severity.ERROR

    def run(self, ctx: LintContext) -> Iterator[Diagnostic]:
        if self.check is not None:
            for f in self.check(ctx):
                yield Diagnostic(self.code, f.message, f.span, self.severity, f.hint)
