"""Logging setup: human text or one JSON object per line, for log pipelines.

Engine events carry structured fields as `extra` (flow, revision, node,
message_id, trace_id, outcome, duration_ms, error_type); the JSON formatter
writes them as keys, the text formatter appends them as `key=value`. Message
bodies are never logged unless a flow's `log` node asks for them.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

# Libraries that log routine work at INFO (httpx: a line per request of every `http.request`).
# Their lines are the user's only with --log-level debug; otherwise warnings and errors only.
LIBRARIES = ("httpx", "httpcore", "aio_pika", "aiormq", "paho", "uvicorn")

FIELDS = ("flow", "revision", "node", "message_id", "trace_id", "outcome", "duration_ms", "error_type", "body")


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: getattr(record, k) for k in FIELDS if getattr(record, k, None) is not None}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **_fields(record),
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extra = " ".join(f"{k}={v}" for k, v in _fields(record).items() if k not in ("flow", "node"))
        return f"{base} [{extra}]" if extra else base


def configure(level: str = "info", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    quiet = logging.NOTSET if root.level <= logging.DEBUG else logging.WARNING
    for name in LIBRARIES:
        logging.getLogger(name).setLevel(quiet)
