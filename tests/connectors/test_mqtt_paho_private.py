"""connectors/mqtt/paho_private.py: an untested paho-mqtt fails at import in one line naming
what it lacks. The installed paho is checked for real; the old ones are stand-ins (objects
without the name) passed to the checking function, since only one paho can be installed."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import paho.mqtt.client
import paho.mqtt.exception
import pytest
from paho.mqtt import _packet

from connectors.mqtt.paho_private import SUPPORTED, PahoIncompatible, check, lacking
from tests.conftest import REPO

INSTALLED = {"paho.mqtt._packet": _packet, "paho.mqtt.exception": paho.mqtt.exception,
             "paho.mqtt.client": paho.mqtt.client}


def test_the_installed_paho_has_every_name() -> None:
    assert lacking(INSTALLED) == []


def test_pyproject_pins_the_range_the_shim_checks() -> None:
    assert f'"paho-mqtt{SUPPORTED}"' in (REPO / "pyproject.toml").read_text()


def test_a_missing_module_is_named_in_one_line() -> None:
    """paho 2.1 has no paho.mqtt._packet: the import used to fail with ModuleNotFoundError."""
    with pytest.raises(PahoIncompatible) as err:
        check({**INSTALLED, "paho.mqtt._packet": None}, "2.1.0")
    assert str(err.value) == f"paho-mqtt 2.1.0 lacks paho.mqtt._packet; flowengine needs paho-mqtt{SUPPORTED}"


def test_a_missing_method_is_named() -> None:
    """paho 2.1 has no Client.drop_out_messages."""
    real = paho.mqtt.client.Client
    old = type("Client", (), {n: getattr(real, n) for n in dir(real) if n != "drop_out_messages"
                              and n not in ("__class__", "__dict__", "__weakref__")})
    client_module: Any = SimpleNamespace(**vars(paho.mqtt.client))
    client_module.Client = old
    assert lacking({**INSTALLED, "paho.mqtt.client": client_module}) == ["paho.mqtt.client.Client.drop_out_messages"]


def test_a_missing_instance_attribute_is_named() -> None:
    """State that paho's Client.__init__ sets (the keepalive clock) is checked on an instance."""

    class Client(paho.mqtt.client.Client):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            del self._last_bytes_received

    client_module: Any = SimpleNamespace(**vars(paho.mqtt.client))
    client_module.Client = Client
    with pytest.raises(PahoIncompatible, match=r"lacks paho\.mqtt\.client\.Client\(\)\._last_bytes_received;"):
        check({**INSTALLED, "paho.mqtt.client": client_module}, "2.3.0")
