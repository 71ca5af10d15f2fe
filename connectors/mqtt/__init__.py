"""MQTT transport on paho-mqtt 2.2: `mqtt.subscribe` and `mqtt.publish`.

    settings.py   broker URL, client ids, the option fields both kinds share
    client.py     one connection, driven by the event loop, owning reconnection
    sock.py       the buffered socket under paho (few system calls per message)
    paho_private.py  every private name of paho used, checked at import against the pinned range
    convert.py    PUBLISH packets <-> messages (user properties, traceparent)
    topics.py     topic and filter rules, checked at compile time
    subscribe.py  the source (manual acks after the flow finished)
    publish.py    the sink (succeeds on PUBACK/PUBCOMP)
"""

from flowengine.plugin import Registry


def register(registry: Registry) -> None:
    """Entry point `flowengine.kinds: mqtt`. paho is imported only when a flow uses a kind."""
    registry.register_lazy("mqtt.subscribe", "connectors.mqtt.subscribe:SPEC")
    registry.register_lazy("mqtt.publish", "connectors.mqtt.publish:SPEC")
