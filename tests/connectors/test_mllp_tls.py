"""MLLP over TLS and mutual TLS: `mllp.send` to `mllp.listen` through real TLS sockets, with
throwaway self-signed certificates made by openssl for this module."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from connectors.memory import hub_of
from flowengine.core.message import Message
from flowengine.errors import ConnectorError
from flowengine.runtime.engine import Engine
from tests.conftest import compile_ok, free_port

ORU = (b"MSH|^~\\&|LAB|HOSP|EHR|WARD|20240101||ORU^R01^ORU_R01|C1|P|2.5.1\r"
       b"PID|1||P1\rOBR|1||R1|CBC\rOBX|1|NM|HGB||13.5|g/dL||N\r")


@dataclass(frozen=True)
class Pki:
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _self_signed(d: Path, name: str, cn: str, alt: str) -> tuple[Path, Path]:
    cert, key = d / f"{name}.pem", d / f"{name}.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={cn}",
                    "-addext", f"subjectAltName={alt}", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=30)
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    return Pki(*_self_signed(d, "server", "localhost", "DNS:localhost,IP:127.0.0.1"),
               *_self_signed(d, "client", "lab-a", "DNS:lab-a"))


def flows(port: int, listen_tls: str, send_tls: str) -> tuple[str, str]:
    receiver = f"""
flow receiver {{
  source lab = mllp.listen(port: {port}, tls: {listen_tls})
  sink out = memory.out(channel: "received")
  lab -> out
}}"""
    sender = f"""
flow sender {{
  source web = memory.in()
  sink lis = mllp.send(host: "127.0.0.1", port: {port}, timeout: 5, tls: {send_tls})
  web -> lis
}}"""
    return receiver, sender


async def deliver(engine: Engine, listen_tls: str, send_tls: str, pki: Pki) -> tuple[bool, str, list[Message]]:
    """Deliver one message over TLS; the flows name the PKI's files relative to its folder."""
    receiver, sender = flows(free_port(), listen_tls, send_tls)
    folder = pki.server_cert.parent
    await engine.deploy(compile_ok(receiver, base_dir=folder))
    await engine.deploy(compile_ok(sender, base_dir=folder))
    hub = hub_of(engine.services)
    outcome = await hub.send("web", Message(ORU, content_type="application/hl7-v2"))
    error = outcome.error.message if outcome.error is not None else ""
    return outcome.ok, error, hub.received("received")


async def test_tls_delivers_and_is_acked(engine: Engine, pki: Pki) -> None:
    ok, error, received = await deliver(
        engine, f'{{certfile: "{pki.server_cert.name}", keyfile: "{pki.server_key.name}"}}', f'{{cafile: "{pki.server_cert.name}"}}', pki)
    assert ok, error
    assert received[0].body == ORU
    assert "mllp.client" not in received[0].attributes


async def test_a_sender_that_does_not_trust_the_certificate_fails_the_message(engine: Engine, pki: Pki) -> None:
    ok, error, received = await deliver(engine, f'{{certfile: "{pki.server_cert.name}", keyfile: "{pki.server_key.name}"}}',
                                        "true", pki)  # the system's CAs: a self-signed certificate is not among them
    assert not ok and "CERTIFICATE_VERIFY_FAILED" in error
    assert received == []


async def test_mutual_tls_names_the_client_and_refuses_one_without_a_certificate(engine: Engine, pki: Pki) -> None:
    listen = f'{{certfile: "{pki.server_cert.name}", keyfile: "{pki.server_key.name}", client_ca: "{pki.client_cert.name}"}}'
    ok, error, received = await deliver(
        engine, listen, f'{{cafile: "{pki.server_cert.name}", certfile: "{pki.client_cert.name}", keyfile: "{pki.client_key.name}"}}', pki)
    assert ok, error
    assert received[0].attributes["mllp.client"] == "lab-a"

    other = Engine()
    try:
        ok, error, received = await deliver(other, listen, f'{{cafile: "{pki.server_cert.name}"}}', pki)
    finally:
        await other.stop()
    assert not ok and error.startswith("MLLP 127.0.0.1:")  # the handshake fails, or the server hangs up
    assert received == []


async def test_a_missing_certificate_fails_the_deploy_naming_the_file(engine: Engine, tmp_path: Path) -> None:
    receiver, _ = flows(free_port(), '{certfile: "nope.pem"}', "true")
    with pytest.raises(ConnectorError, match=r"mllp.listen lab: TLS certificate '.*nope.pem' cannot be loaded: "
                                             r"No such file or directory"):
        await engine.deploy(compile_ok(receiver, base_dir=tmp_path))
