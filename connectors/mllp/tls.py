"""TLS for MLLP: the listener's certificate (and the client certificates it may require),
the sender's trust store and its own certificate.

HL7 interfaces outside one machine usually run MLLP over TLS, often mutual: the
receiver asks each sender for a certificate from the interface's CA. Names are
relative and looked up in the server's TLS folders (`--tls-dir`, by default the
flow's folder for `run`, none for `serve`); one outside them is E155 at compile
time. The files are read when the node starts, and a broken one fails the
deploy with a ConnectorError that names it.
"""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flowengine.plugin import BuildContext, ConnectorError, Field

_PATH = {"type": "string", "minLength": 1}

SERVER_TLS_FIELD = Field(
    {
        "type": "object",
        "properties": {"certfile": _PATH, "keyfile": _PATH, "client_ca": _PATH},
        "required": ["certfile"],
        "additionalProperties": False,
    },
    "TLS: `certfile` (PEM, the chain), `keyfile` (unless in certfile); with `client_ca`, every client must "
    "present a certificate signed by it (mutual TLS)",
    examples=({"certfile": "tls/mllp.pem", "keyfile": "tls/mllp.key", "client_ca": "tls/labs-ca.pem"},),
)

CLIENT_TLS_FIELD = Field(
    {
        "anyOf": [
            {"type": "boolean"},
            {
                "type": "object",
                "properties": {"cafile": _PATH, "certfile": _PATH, "keyfile": _PATH, "server_name": _PATH},
                "additionalProperties": False,
            },
        ]
    },
    "TLS: true (the system's CAs, host name checked), or `cafile` (trust this CA instead), `certfile`/`keyfile` "
    "(our certificate, for mutual TLS), `server_name` (the name to check, if not `host`)",
    default=False,
    examples=(True, {"cafile": "tls/lis-ca.pem", "certfile": "tls/engine.pem", "keyfile": "tls/engine.key"}),
)


@dataclass(frozen=True)
class TlsFiles:
    certfile: Path | None = None
    keyfile: Path | None = None
    ca: Path | None = None  # the listener's client CA, or the sender's trusted CA
    server_name: str | None = None

    @classmethod
    def from_option(cls, ctx: BuildContext, option: str = "tls") -> TlsFiles | None:
        """The option's files, found in the server's TLS folders (`--tls-dir`); None without TLS."""
        value: Any = ctx.options.get(option)
        if not value:
            return None
        if value is True:
            return cls()

        def path(key: str) -> Path | None:
            return ctx.tls_file(option, key) if key in value else None

        return cls(path("certfile"), path("keyfile"), path("client_ca") or path("cafile"), value.get("server_name"))

    def server_context(self, who: str) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._load_chain(context, who)  # certfile is required by the option's schema
        if self.ca is not None:
            context.verify_mode = ssl.CERT_REQUIRED
            self._load_ca(context, who, "client CA")
        return context

    def client_context(self, who: str) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.ca is not None:
            self._load_ca(context, who, "CA")
        if self.certfile is not None:
            self._load_chain(context, who)
        return context

    def _load_chain(self, context: ssl.SSLContext, who: str) -> None:
        assert self.certfile is not None
        with _loading(who, "certificate", self.certfile):
            context.load_cert_chain(self.certfile, self.keyfile)

    def _load_ca(self, context: ssl.SSLContext, who: str, what: str) -> None:
        assert self.ca is not None
        with _loading(who, what, self.ca):
            context.load_verify_locations(cafile=self.ca)


@contextlib.contextmanager
def _loading(who: str, what: str, path: Path) -> Iterator[None]:
    """A file that cannot be loaded becomes a ConnectorError naming it (the deploy fails)."""
    try:
        yield
    except (OSError, ssl.SSLError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise ConnectorError(f"{who}: TLS {what} '{path}' cannot be loaded: {reason}") from None


def client_name(peercert: dict[str, Any] | None) -> str | None:
    """The common name of a verified client certificate (mutual TLS), for `attributes`."""
    for rdn in (peercert or {}).get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None
