"""W3C trace context: read the trace id from a `traceparent` (`00-<trace>-<span>-<flags>`)."""

from __future__ import annotations


def trace_id(traceparent: str | None) -> str | None:
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else None
