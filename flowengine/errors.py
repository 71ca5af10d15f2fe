"""The exception tree of Flowengine.

    FlowengineError                 base of everything raised on purpose
    ├── FlowInvalid                 a flow did not compile; carries diagnostics (API: 422)
    ├── MessageError                one message could not be processed; the engine goes on
    │   ├── BadMessage              the body is not what the node reads (e.g. not JSON) -> 400
    │   ├── ValidationFailed        the body violates a JSON Schema; lists each pointer -> 422
    │   ├── MessageTooLarge         the body is over a source's limit -> 413
    │   ├── MessageTooComplex       the body's shape is over a limit (XML depth, attributes) -> 422
    │   ├── NodeFailed              a node raised while processing -> 500
    │   └── DeliveryFailed          a sink could not deliver (broker refused, HTTP non-2xx) -> 502
    ├── ConnectorError              a transport problem, not tied to one message
    │   └── NotConnected            the connection is down; its connector reconnects with backoff
    └── StateUnreadable             the state file exists but is empty or not a readable store

A `MessageError` is what the runtime hands to a flow's `on error` route (as headers) and, for
HTTP sources, what becomes the response status and JSON error body.
"""

from __future__ import annotations

import time
from typing import Any

from dsl.diagnostics import Diagnostic


class FlowengineError(Exception):
    """Base class of the engine's deliberate errors."""


class FlowInvalid(FlowengineError):
    """A flow has errors; `diagnostics` says where and why."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        first = diagnostics[0].headline() if diagnostics else "invalid flow"
        super().__init__(first)


class MessageError(FlowengineError):
    """A message failed at a node. `status` is the HTTP status an HTTP source answers with."""

    status = 500
    kind = "error"

    def __init__(self, message: str, *, node: str | None = None, details: list[dict[str, Any]] | None = None):
        super().__init__(message)
        self.message = message
        self.node = node
        self.details = details or []
        self.attempts = 1  # tries at the failing node (more than one under a retry policy)
        self.first_failure = time.time()  # of the first try, when retried

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.kind, "message": self.message}
        if self.node:
            out["node"] = self.node
        if self.details:
            out["details"] = self.details
        return out


class BadMessage(MessageError):
    status = 400
    kind = "bad_message"


class ValidationFailed(MessageError):
    status = 422
    kind = "validation"


class MessageTooLarge(MessageError):
    status = 413
    kind = "too_large"


class MessageTooComplex(MessageError):
    status = 422
    kind = "too_complex"


class NodeFailed(MessageError):
    status = 500
    kind = "node_failed"


class DeliveryFailed(MessageError):
    status = 502
    kind = "delivery_failed"


class ConnectorError(FlowengineError):
    """A transport-level problem (configuration, authentication, connection)."""


class NotConnected(ConnectorError):
    """The connection is down. The connector that owns the connection reconnects it with
    backoff (the engine does not); a sink reports the message meanwhile as DeliveryFailed."""


class StateUnreadable(FlowengineError):
    """The state file exists but cannot be the engine's store (empty, truncated, not SQLite).

    The engine refuses to start on it rather than begin afresh over it: starting would lose
    every recorded deployment and dead letter. The message names the file and what to do.
    """

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        super().__init__(
            f"state file {path} {problem}; restore it from a backup, or start with --state "
            "naming a new file (the file was left as it is)"
        )
