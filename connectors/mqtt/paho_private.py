"""Every private name of paho-mqtt the MQTT connector relies on, in one module, checked at import.

The connector drives paho without paho's network loop (see `client.py`): it frames
packets itself, so it needs paho's packet handler, its reader state, its keepalive
clocks, its packet-id counter and its socket factory, none of which paho documents.
Such names move between minor releases (`paho.mqtt._packet`, `paho.mqtt.exception` and
`Client.drop_out_messages` are absent from 2.0 and 2.1), so they are all used here and
only here, and the import checks that each exists: an untested paho then fails with one
line naming what it lacks, not an AttributeError in the middle of a connection.
Changing `SUPPORTED` means testing that version and changing pyproject.toml with it.
"""

from __future__ import annotations

import importlib
import socket
import ssl
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

SUPPORTED = ">=2.2.0,<2.3"  # the paho-mqtt versions tested; pyproject.toml pins the same range

# module -> names it must have ("Client()." means an attribute a new Client instance has)
REQUIRED: dict[str, tuple[str, ...]] = {
    "paho.mqtt._packet": ("decode_publish",),
    "paho.mqtt.exception": ("MalformedPacket",),
    "paho.mqtt.client": (
        "time_func",
        "Client._create_socket",
        "Client._ssl_wrap_socket",
        "Client._packet_handle",
        "Client._loop_rc_handle",
        "Client._mid_generate",
        "Client.drop_out_messages",
        "Client()._in_packet",
        "Client()._last_bytes_received",
        "Client()._last_msg_out",
        "Client()._ssl_context",
        "Client()._host",
        "Client()._connect_timeout",
    ),
}


class PahoIncompatible(ImportError):
    """The installed paho-mqtt lacks a name the connector uses."""


def lacking(modules: Mapping[str, Any]) -> list[str]:
    """The dotted names of `REQUIRED` that `modules` (name -> module, None when it failed to
    import) do not have. A parameter rather than `sys.modules` so a test can pass stand-ins."""
    missing: list[str] = []
    for module_name, names in REQUIRED.items():
        module = modules.get(module_name)
        if module is None:
            missing.append(module_name)
            continue
        instance = None
        for name in names:
            target: Any = module
            if name.startswith("Client()."):
                if instance is None:
                    instance = _sample_client(module)
                target = instance
            if target is None or not _has_path(target, name.removeprefix("Client().")):
                missing.append(f"{module_name}.{name}")
    return missing


def _sample_client(module: Any) -> Any:
    """A Client built as the connector builds one, to look at the state its __init__ sets."""
    try:
        return module.Client(module.CallbackAPIVersion.VERSION2)
    except Exception:
        return None


def _has_path(target: Any, dotted: str) -> bool:
    for part in dotted.split("."):
        if not hasattr(target, part):
            return False
        target = getattr(target, part)
    return True


def check(modules: Mapping[str, Any], version: str) -> None:
    """Raise PahoIncompatible, in one line, when paho `version` lacks a required name."""
    missing = lacking(modules)
    if missing:
        raise PahoIncompatible(
            f"paho-mqtt {version} lacks {', '.join(missing)}; flowengine needs paho-mqtt{SUPPORTED}"
        )


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _check_installed() -> None:
    import paho.mqtt

    check({name: _import(name) for name in REQUIRED}, getattr(paho.mqtt, "__version__", "(unknown version)"))


_check_installed()

# Only past the check: the private names the connector uses, imported from here.
import paho.mqtt.client as paho  # noqa: E402
from paho.mqtt._packet import decode_publish as paho_decode_publish  # noqa: E402
from paho.mqtt.exception import MalformedPacket  # noqa: E402

from connectors.mqtt.sock import BufferedSocket  # noqa: E402

if TYPE_CHECKING:
    from paho.mqtt.client import _InPacket  # a typing-only TypedDict of paho's

__all__ = ["REQUIRED", "SUPPORTED", "MalformedPacket", "PahoClient", "PahoIncompatible", "check", "lacking",
           "paho_decode_publish"]


class PahoClient(paho.Client):
    """paho's client, fed packets instead of reading them; the only class that touches paho
    internals.

    - the socket is a `BufferedSocket` with TCP_NODELAY; a failed TLS handshake closes it;
    - `MqttClient` frames what arrives and handles inbound PUBLISH (all QoS), PUBREL and
      PUBACK itself; paho gets the rest through `handle` (CONNACK, SUBACK, PINGRESP, the
      PUBREC/PUBCOMP of our QoS 2 publishes), runs CONNECT, SUBSCRIBE,
      keepalive and outbound QoS 2, and hears of a lost connection through `connection_lost`.
    """

    def _create_socket(self) -> Any:
        sock: socket.socket = super()._create_socket()  # type: ignore[assignment]  # paho types it loosely
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return BufferedSocket(sock)

    def _ssl_wrap_socket(self, tcp_sock: socket.socket) -> ssl.SSLSocket:
        """paho's, but a failed handshake closes the socket instead of leaking it. The context
        is `ssl.create_default_context()`, so the handshake also checks the host name."""
        assert self._ssl_context is not None
        try:
            tls = self._ssl_context.wrap_socket(tcp_sock, server_hostname=self._host, do_handshake_on_connect=False)
        except BaseException:
            tcp_sock.close()
            raise
        try:
            tls.settimeout(self._connect_timeout)
            tls.do_handshake()
        except BaseException:
            tls.close()
            raise
        return tls

    def handle(self, command: int, packet: bytes) -> None:
        """Process one whole packet as paho's own reader would have, after framing it."""
        self._in_packet = _fresh_in_packet(command, packet)
        try:
            rc = self._packet_handle()
        except MalformedPacket:
            rc = paho.MQTTErrorCode.MQTT_ERR_PROTOCOL
        self._in_packet = _fresh_in_packet(0, b"")
        if rc > 0:
            self._loop_rc_handle(rc)

    def connection_lost(self) -> None:
        """End of file or a broken read: paho's disconnect path (socket closed, on_disconnect)."""
        self._loop_rc_handle(paho.MQTTErrorCode.MQTT_ERR_CONN_LOST)

    def bytes_received(self) -> None:
        """For paho's keepalive: the broker is alive."""
        self._last_bytes_received = paho.time_func()

    def bytes_sent(self) -> None:
        """For paho's keepalive: no PINGREQ needed while we send."""
        self._last_msg_out = paho.time_func()

    def next_mid(self) -> int:
        """A packet id from paho's counter, so ours and paho's (SUBSCRIBE, QoS 2) never collide."""
        return self._mid_generate()


def _fresh_in_packet(command: int, packet: bytes) -> _InPacket:
    """paho's reader state for a packet read whole (`paho.Client._packet_read` builds the same)."""
    return {"command": command, "have_remaining": 1 if command else 0, "remaining_count": [], "remaining_mult": 1,
            "remaining_length": len(packet), "packet": bytearray(packet), "to_process": 0, "pos": 0}
