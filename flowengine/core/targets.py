"""Objects named by "package.module:ATTRIBUTE" strings, imported when first needed.

Kinds, CLI commands and expression views are declared this way so that a process
imports only what it uses (start-up time, docs/performance.md).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any


def resolve(target: str) -> Any:
    """The object `target` names, importing its module."""
    module, _, attribute = target.partition(":")
    return getattr(import_module(module), attribute)
