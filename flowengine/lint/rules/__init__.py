"""The lint rules: the checks `flowengine lint` runs beyond the compiler, and the one
documented list of every diagnostic code (docs/diagnostics.md is generated from it).

    W201  unused node               W202  shadowed field or key
    W203  constant condition        W204  arm after an always-true `when`
    W205  sink without error route  W206  json.map field not in the input's schema
    W207  plain-text secret         E141  variable missing from --env-file
    W208  aggregate timeout, no error route
    W209  aggregate without a timeout
"""

from __future__ import annotations

from flowengine.lint.rules.base import Finding, LintContext, Rule
from flowengine.lint.rules.catalogue import CATALOGUE, ENV_FILE
from flowengine.lint.rules.conditions import AFTER_UNCONDITIONAL, CONSTANT
from flowengine.lint.rules.patterns import ENDLESS_GROUP, UNHANDLED_TIMEOUT
from flowengine.lint.rules.schema_fields import UNKNOWN_FIELD
from flowengine.lint.rules.structure import UNHANDLED_SINK, UNUSED
from flowengine.lint.rules.values import PLAINTEXT_SECRET, SHADOWED

CHECKS: tuple[Rule, ...] = (
    UNUSED,
    SHADOWED,
    CONSTANT,
    AFTER_UNCONDITIONAL,
    UNHANDLED_SINK,
    UNKNOWN_FIELD,
    PLAINTEXT_SECRET,
    UNHANDLED_TIMEOUT,
    ENDLESS_GROUP,
)
"""The rules the linter runs over each compiled flow."""

ALL: tuple[Rule, ...] = tuple(sorted((*CATALOGUE, *CHECKS), key=lambda r: (r.code[1:], r.code)))
"""Every code, documented: the parser's and compiler's, then the linter's."""

__all__ = ["ALL", "CHECKS", "ENV_FILE", "Finding", "LintContext", "Rule"]
