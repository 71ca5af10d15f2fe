"""Uvicorn's HTTP protocol, with JSON answers for the requests it cannot parse.

A request whose line, headers or chunks are not HTTP/1.1 never reaches an ASGI
application: uvicorn's parser refuses it and answers 400 in text/plain. Every other
error of the engine's HTTP server is JSON (`{"error": {"type", "message"}}`), so a
client, a gateway or a log shipper would see two shapes. `JsonErrorsProtocol`
overrides the one method that writes that answer. Upgrade requests are not served
either (flows serve no websockets, `SERVER_OPTIONS` turns them off) and uvicorn
logs two lines for each; here they are one.

This is the only module that uses uvicorn's private names: the httptools protocol
class, its `send_400_response(msg)` and `_unsupported_upgrade_warning()`, and
`transport`, `logger` and `server_state.default_headers` on an instance. `check`
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

_METHODS = {"send_400_response": ["self", "msg"], "_unsupported_upgrade_warning": ["self"]}

BAD_REQUEST = orjson.dumps({"error": {"type": "bad_request", "message": "the request is not valid HTTP/1.1"}})


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
            "flowengine/http_protocol.py needs updating for it"
        )


check(HttpToolsProtocol)


class JsonErrorsProtocol(HttpToolsProtocol):
    """httptools' protocol; a request it cannot parse gets 400 with a JSON error body."""

    def send_400_response(self, msg: str) -> None:  # uvicorn has logged `msg`, one line
        head = [b"HTTP/1.1 400 Bad Request"]
        head += [name + b": " + value for name, value in self.server_state.default_headers]
        head += [
            b"content-type: application/json",
            b"content-length: " + str(len(BAD_REQUEST)).encode("ascii"),
            b"connection: close",
        ]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + BAD_REQUEST)
        self.transport.close()

    def _unsupported_upgrade_warning(self) -> None:
        """One line (uvicorn adds a second advising to install a websocket library)."""
        self.logger.warning("Unsupported upgrade request: answered as plain HTTP.")


SERVER_OPTIONS: dict[str, Any] = {"http": JsonErrorsProtocol, "ws": "none"}
"""Keyword arguments for every `uvicorn.Config` that serves flows' endpoints."""
