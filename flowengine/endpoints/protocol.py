"""Uvicorn's HTTP protocol, with JSON answers for the requests it cannot parse.

A request whose line, headers or chunks are not HTTP/1.1 never reaches an ASGI
application: uvicorn's parser refuses it and answers 400 in text/plain. Every other
error of the engine's HTTP server is JSON (`{"error": {"type", "message"}}`), so a
client, a gateway or a log shipper would see two shapes. `JsonErrorsProtocol`
overrides the one method that writes that answer. Upgrade requests are not served
either (flows serve no websockets, `SERVER_OPTIONS` turns them off) and uvicorn
logs two lines for each; here they are one.

The request line and headers are bounded (`MAX_HEAD_BYTES`, answered 431): uvicorn
took them whole, and httptools builds a header value by concatenating bytes, so the
work grows with the square of one header's size (a 16 MB value arriving in 64 KiB
reads: 2.9 s of parsing) and the memory with its size.

This is the only module that uses uvicorn's private names: the httptools protocol
class, its `send_400_response(msg)`, `_unsupported_upgrade_warning()`, the parser
callbacks `on_message_begin()` and `on_headers_complete()`, `data_received(data)`,
and `transport`, `logger` and `server_state.default_headers` on an instance. `check`
verifies them at import, so a uvicorn release that renames them stops the engine
at start with a message naming this file, instead of at the first bad request.
"""

from __future__ import annotations

import inspect
from typing import Any

import orjson
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

_METHODS = {
    "send_400_response": ["self", "msg"],
    "_unsupported_upgrade_warning": ["self"],
    "on_message_begin": ["self"],
    "on_headers_complete": ["self"],
    "data_received": ["self", "data"],
}

MAX_HEAD_BYTES = 65536
"""Bytes a request may send before its headers are complete (nginx allows 4 x 8 KiB)."""

BAD_REQUEST = orjson.dumps({"error": {"type": "bad_request", "message": "the request is not valid HTTP/1.1"}})
HEAD_TOO_LARGE = orjson.dumps(
    {"error": {"type": "too_large", "message": f"the request line and headers are over {MAX_HEAD_BYTES} bytes"}}
)


def check(protocol: type[Any], state: type[Any] = ServerState) -> None:
    """Raise ImportError unless uvicorn still has the private names this module relies on."""
    problems = []
    for name, params in _METHODS.items():
        method = getattr(protocol, name, None)
        if not callable(method) or list(inspect.signature(method).parameters) != params:
            problems.append(f"{protocol.__name__}.{name}({', '.join(params[1:])})")
    if not hasattr(state(), "default_headers"):
        problems.append(f"{state.__name__}.default_headers")
    if problems:
        raise ImportError(
            f"uvicorn {uvicorn.__version__} no longer has {', '.join(problems)}: "
            "flowengine/endpoints/protocol.py needs updating for it"
        )


check(HttpToolsProtocol)


class JsonErrorsProtocol(HttpToolsProtocol):
    """httptools' protocol; a request it cannot parse gets 400 with a JSON error body, one
    whose line and headers are too large 431."""

    _in_head = True  # the connection's first bytes are a request's head
    _head_bytes = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True

    def on_headers_complete(self) -> None:
        self._in_head, self._head_bytes = False, 0
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        """Parse at most what is left of the head's allowance while the head is unfinished."""
        room = MAX_HEAD_BYTES - self._head_bytes
        if self._in_head and len(data) > room:
            super().data_received(data[:room])  # the head may end within it
            if self.transport.is_closing():
                return
            if self._in_head:
                self.logger.warning("Request line and headers over %d bytes: refused.", MAX_HEAD_BYTES)
                self._refuse(b"431 Request Header Fields Too Large", HEAD_TOO_LARGE)
                return
            data = data[room:]
        elif self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)

    def send_400_response(self, msg: str) -> None:  # uvicorn has logged `msg`, one line
        self._refuse(b"400 Bad Request", BAD_REQUEST)

    def _refuse(self, status: bytes, body: bytes) -> None:
        head = [b"HTTP/1.1 " + status]
        head += [name + b": " + value for name, value in self.server_state.default_headers]
        head += [
            b"content-type: application/json",
            b"content-length: " + str(len(body)).encode("ascii"),
            b"connection: close",
        ]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()

    def _unsupported_upgrade_warning(self) -> None:
        """One line (uvicorn adds a second advising to install a websocket library)."""
        self.logger.warning("Unsupported upgrade request: answered as plain HTTP.")


SERVER_OPTIONS: dict[str, Any] = {"http": JsonErrorsProtocol, "ws": "none"}
"""Keyword arguments for every `uvicorn.Config` that serves flows' endpoints."""
