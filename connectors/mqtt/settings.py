"""What an MQTT connection is made of: broker URL, protocol, client id, session.

The option fields that `mqtt.subscribe` and `mqtt.publish` share are declared
here once. A broker URL comes from the node's `url` option, else the
environment (`FLOWENGINE_MQTT_URL`), else the local broker; a password in it is
a secret, so every log line and error shows `masked()` instead.
"""

from __future__ import annotations

import hashlib
import os
import re
import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from flowengine.plugin import BuildContext, Field

DEFAULT_URL = "mqtt://127.0.0.1:1883"
URL_ENV = "FLOWENGINE_MQTT_URL"
INSTANCE_ENV = "FLOWENGINE_INSTANCE"
_PORTS = {"mqtt": 1883, "mqtts": 8883}

URL_FIELD = Field(
    {"type": "string", "pattern": "^mqtts?://"},
    f"Broker URL (mqtt://, or mqtts:// for TLS; user:password@ allowed); defaults to ${URL_ENV}, else {DEFAULT_URL}",
    secret=True,
    examples=("mqtts://engine:${MQTT_PASSWORD}@broker.example.com",),
)
PROTOCOL_FIELD = Field({"enum": ["5", "3.1.1"]}, "MQTT protocol version (user properties need 5)", default="5")
QOS_FIELD = Field({"enum": [0, 1, 2]}, "Quality of service", default=1)


@dataclass(frozen=True)
class BrokerUrl:
    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerUrl:
        """Parse `mqtt[s]://[user[:password]@]host[:port]`; ValueError says what is wrong."""
        parts = urlsplit(url)
        if parts.scheme not in _PORTS:
            raise ValueError(f"scheme must be mqtt:// or mqtts://, got '{parts.scheme}://'")
        if not parts.hostname:
            raise ValueError("the URL names no host")
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise ValueError("an MQTT URL has no path or query: mqtt[s]://[user[:password]@]host[:port]")
        try:
            port = parts.port or _PORTS[parts.scheme]
        except ValueError as err:
            raise ValueError(f"bad port: {err}") from None
        return cls(
            host=parts.hostname,
            port=port,
            tls=parts.scheme == "mqtts",
            username=unquote(parts.username) if parts.username is not None else None,
            password=unquote(parts.password) if parts.password is not None else None,
        )

    def masked(self) -> str:
        """The URL for logs and errors: the password is never shown."""
        user = f"{self.username}{':***' if self.password is not None else ''}@" if self.username is not None else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}"


def resolve_url(option: str | None) -> str:
    """The URL a node uses: its option, else the environment, else the local broker."""
    return option or os.environ.get(URL_ENV) or DEFAULT_URL


def broker_url(ctx: BuildContext) -> BrokerUrl:
    """A node's broker URL, parsed; a wrong one is a compile error on its `url` option."""
    try:
        return BrokerUrl.parse(resolve_url(ctx.options.get("url")))
    except ValueError as err:
        raise ctx.fail(f"bad MQTT broker URL: {err}", "url") from None


@dataclass(frozen=True)
class Settings:
    """Everything needed to open one connection; built once when the flow compiles."""

    url: BrokerUrl
    client_id: str
    protocol: str = "5"
    clean_start: bool = True
    session_expiry: int = 0
    receive_maximum: int | None = None
    keepalive: int = 30
    connect_timeout: float = 10.0

    @property
    def v5(self) -> bool:
        return self.protocol == "5"


def instance_name() -> str:
    """What tells this engine apart from others: $FLOWENGINE_INSTANCE, else the host name."""
    return os.environ.get(INSTANCE_ENV) or socket.gethostname()


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def subscriber_client_id(flow: str, node: str, topic: str) -> str:
    """A client id that is stable across restarts, so a persistent session resumes.

    It differs per engine instance (two engines sharing a subscription must not
    take over each other's session) and per topic (a changed topic starts a new
    session instead of inheriting the old subscription).
    """
    digest = hashlib.sha256(f"{instance_name()}|{topic}".encode()).hexdigest()[:10]
    return f"fe-{_safe(flow)}-{_safe(node)}-{digest}"


def publisher_client_id(flow: str, node: str) -> str:
    """A fresh id per start: a publisher keeps no session, so it only has to be unique."""
    return f"fe-{_safe(flow)}-{_safe(node)}-pub-{os.urandom(4).hex()}"
