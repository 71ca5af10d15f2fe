"""Where `http.request` may send a message: allow-lists, and the engine's own addresses.

A URL built from message data lets whoever writes the message choose the
target: a loopback-only service, the cloud's metadata address, or the engine's
own management API. So such a URL must match an allow entry (the node's
`allow:` or the server's `--http-allow`); a constant URL is allowed as written,
since the deployer chose it in plain sight, and so is a template whose host
part is literal (`https://crm/customers/{{ body.id }}`: the message picks only
the path). The engine's own listening
addresses are refused either way unless an allow entry names them.

An entry is a host (`crm.example.com`, `crm.example.com:8443`) or a URL prefix
(`https://crm.example.com/api/`). A prefix matches on scheme, host, port and
path segments, so `https://crm/api` does not admit `https://crm/api-admin`.
Names are compared as written; a name that resolves to a loopback address is
not caught here (no DNS at check time), which is what the allow-list is for.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

HTTP_ALLOW_ENV = "FLOWENGINE_HTTP_ALLOW"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
_HOST = re.compile(r"^(?:[a-z0-9.-]+|[0-9a-f:]+)$")
_TEMPLATE_START = re.compile(r"\{[{%#]")
DEFAULT_OWN = (("127.0.0.1", 8080),)  # `run` and `serve` listen here unless told otherwise


class UrlRefused(Exception):
    """A URL this node may not call; the text names the URL's origin, never a secret."""


@dataclass(frozen=True)
class Entry:
    host: str
    port: int | None = None  # None: any port
    scheme: str | None = None  # set for a URL prefix
    path: str = ""

    @classmethod
    def parse(cls, text: str) -> Entry:
        """`host`, `host:port` or a URL prefix; ValueError when it is none of those."""
        raw = text.strip()
        if "://" in raw:
            parts = urlsplit(raw)
            host = parts.hostname or ""
            if parts.scheme not in _DEFAULT_PORTS or not _HOST.match(host):
                raise ValueError(f"'{text}' is not an http(s) URL prefix")
            return cls(host, _port(parts), parts.scheme, parts.path.rstrip("/"))
        parts = urlsplit("//" + raw)
        host = parts.hostname or ""
        if not _HOST.match(host) or parts.path or parts.query:
            raise ValueError(f"'{text}' is not a host, host:port or URL prefix")
        return cls(host, _safe_port(parts))

    def admits(self, url: SplitResult) -> bool:
        if url.hostname != self.host or (self.port is not None and _port(url) != self.port):
            return False
        if self.scheme is None:
            return True
        path = url.path or "/"
        return url.scheme == self.scheme and (path == self.path or path.startswith(self.path + "/") or not self.path)


@dataclass(frozen=True)
class HttpPolicy:
    """The server's part: its allow entries, its own addresses, and how strict a deploy is."""

    allow: tuple[Entry, ...] = ()
    own: tuple[tuple[str, int], ...] = DEFAULT_OWN  # (host, port) the engine listens on
    strict: bool = False  # `serve`: a message-built URL without any allow-list is an error

    @classmethod
    def configured(
        cls, given: Iterable[str], env: Mapping[str, str], own: Iterable[tuple[str, int]], *, strict: bool
    ) -> HttpPolicy:
        """`--http-allow` entries, else `FLOWENGINE_HTTP_ALLOW` (comma separated). ValueError on a bad entry."""
        texts = list(given) or [t for t in env.get(HTTP_ALLOW_ENV, "").split(",") if t.strip()]
        return cls(tuple(Entry.parse(t) for t in texts), tuple(own), strict)


@dataclass(frozen=True)
class Guard:
    """One node's check, made once at build time and applied to every URL it renders."""

    allow: tuple[Entry, ...]
    own: tuple[tuple[str, int], ...]

    def check(self, url: str, *, from_message: bool) -> None:
        """Raise `UrlRefused` unless the node may call `url`."""
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise UrlRefused(f"'{_origin(parts)}' is not an http(s) URL")
        allowed = any(e.admits(parts) for e in self.allow)
        if not allowed and self.is_own(parts):
            raise UrlRefused(f"{_origin(parts)} is this engine's own address")
        if from_message and not allowed:
            raise UrlRefused(f"{_origin(parts)} is not in the node's allow-list")

    def is_own(self, url: SplitResult) -> bool:
        port, host = _port(url), url.hostname or ""
        return any(port == p and (host == h or (_is_local(host) and _is_local(h))) for h, p in self.own)


def fixed_origin(template: str) -> str | None:
    """The origin (`scheme://host:port/`) of a URL template when the literal text before its first
    `{{`, `{%` or `{#` already ends the host part, so message data can choose only path and query:
    `http://crm/customers/{{ body.id }}` is fixed, `http://{{ body.host }}/` and `http://crm{{ x }}` are not."""
    prefix = _TEMPLATE_START.split(template, maxsplit=1)[0]
    parts = urlsplit(prefix)
    head = f"{parts.scheme}://{parts.netloc}"
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or len(prefix) == len(head):
        return None
    if prefix[len(head)] not in "/?#":
        return None
    return head + "/"


def _port(parts: SplitResult) -> int:
    return _safe_port(parts) or _DEFAULT_PORTS.get(parts.scheme, 0)


def _origin(parts: SplitResult) -> str:
    return f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if _safe_port(parts) else "")


def _safe_port(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


def _is_local(host: str) -> bool:
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        return False
    return addr.is_loopback or addr.is_unspecified
