"""mqtts:// and credentials against a real Mosquitto of the test's own (TLS listener, password file).

The shared broker on 1883 has neither, so this module starts a private `mosquitto` on a
free port with a throwaway self-signed certificate, and stops it at the end.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from flowengine.errors import ConnectorError
from flowengine.runtime.engine import Engine
from tests.conftest import compile_ok, free_port
from tests.connectors.mqtt_helpers import outside, running, uid

pytestmark = pytest.mark.broker

USER, PASSWORD = "engine", "s3cret"


class PrivateBroker:
    def __init__(self, port: int, ca: Path) -> None:
        self.port = port
        self.ca = ca

    def url(self, password: str = PASSWORD) -> str:
        return f"mqtts://{USER}:{password}@localhost:{self.port}"

    def client(self) -> mqtt.Client:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        client.tls_set(ca_certs=str(self.ca))
        client.username_pw_set(USER, PASSWORD)
        client.connect("localhost", self.port)
        client.loop_start()
        return client


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def private_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateBroker]:
    d = tmp_path_factory.mktemp("mosquitto")
    _run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem"))
    _run("mosquitto_passwd", "-c", "-b", str(d / "passwords"), USER, PASSWORD)
    port = free_port()
    (d / "mosquitto.conf").write_text(
        f"user root\npersistence false\nlistener {port} 127.0.0.1\nallow_anonymous false\n"
        f"password_file {d / 'passwords'}\ncertfile {d / 'cert.pem'}\nkeyfile {d / 'key.pem'}\n"
    )
    log = (d / "mosquitto.log").open("wb")
    proc = subprocess.Popen(["mosquitto", "-c", str(d / "mosquitto.conf")], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, f"mosquitto did not start: {(d / 'mosquitto.log').read_text()}"
                assert time.monotonic() < deadline, "mosquitto did not listen within 10 s"
                time.sleep(0.05)
        yield PrivateBroker(port, d / "cert.pem")
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def bridge_flow(t: str, url: str) -> str:
    return f"""
flow tls_{t} {{
  source inp = mqtt.subscribe(url: "{url}", topic: "secure/{t}")
  sink out = mqtt.publish(topic: "fe/{t}/out")
  inp -> out
}}"""


async def test_mqtts_with_credentials_bridges_to_the_plain_broker(
    private_broker: PrivateBroker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(private_broker.ca))  # what a deployment's CA bundle would hold
    t = uid()
    with outside() as world:
        world.subscribe(f"fe/{t}/out")
        async with running(compile_ok(bridge_flow(t, private_broker.url()))):
            sensor = private_broker.client()
            try:
                sensor.publish(f"secure/{t}", b"over TLS", 1).wait_for_publish(5)
                (out,) = await world.wait_for(1, f"fe/{t}/out")
            finally:
                sensor.disconnect()
                sensor.loop_stop()
    assert out.payload == b"over TLS"


async def test_a_wrong_password_fails_the_deploy(private_broker: PrivateBroker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(private_broker.ca))
    with pytest.raises(ConnectorError) as err:
        await Engine().deploy(compile_ok(bridge_flow(uid(), private_broker.url("wrong"))))
    message = str(err.value)
    assert f"MQTT broker mqtts://{USER}:***@localhost:{private_broker.port} refused the connection" in message
    assert "Not authorized" in message or "Bad user name or password" in message
    assert "wrong" not in message


async def test_an_untrusted_certificate_fails_the_deploy(private_broker: PrivateBroker,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", ssl.get_default_verify_paths().openssl_cafile)
    with pytest.raises(ConnectorError, match="TLS failed: CERTIFICATE_VERIFY_FAILED"):
        await Engine().deploy(compile_ok(bridge_flow(uid(), private_broker.url())))
