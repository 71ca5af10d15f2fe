"""The server's listening socket, bound before anything starts or says where it serves.

Uvicorn binds only inside `serve()`: by then the flows were deployed (brokers connected,
listeners opened) and the log already said "serving on ...", and a port in use ended in
uvicorn's own error and a traceback. The commands bind here first instead, turn a failure
into one line (`ListenFailed`), and hand the bound socket to uvicorn.
"""

from __future__ import annotations

import errno
import socket


class ListenFailed(Exception):
    """The address cannot be listened on (port in use, address not local, no permission)."""


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port (IPv6 when the host has a ':'), ready for uvicorn."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart need not wait for TIME_WAIT
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise ListenFailed(f"cannot listen on {host}:{port}: {_reason(err, port)}") from None
    return sock


def _reason(err: OSError, port: int) -> str:
    if err.errno == errno.EADDRINUSE:
        return f"port {port} is already in use (stop what holds it, or choose another with --port)"
    if err.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges; choose another with --port)"
    return err.strerror or str(err)


def address(sock: socket.socket) -> str:
    """host:port the socket is bound to (the real port when 0 was asked for)."""
    host, port = sock.getsockname()[:2]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
