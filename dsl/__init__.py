"""The Flowengine language: grammar, typed AST, parser and diagnostics.

This package knows nothing of the engine; the engine depends on it.
"""

from dsl.diagnostics import Diagnostic, Severity
from dsl.parser import parse

__all__ = ["Diagnostic", "Severity", "parse"]
