"""Which node kinds talk to the world outside the engine.

The linter warns when such a sink has no error route, and flow tests replace
such nodes with in-memory doubles; both read this one definition. A connector
of a new transport family adds its prefix here.
"""

from __future__ import annotations

EXTERNAL_PREFIXES = ("http.", "amqp.", "mqtt.", "mllp.")


def is_external(kind: str) -> bool:
    return kind.startswith(EXTERNAL_PREFIXES)
