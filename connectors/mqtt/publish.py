"""`mqtt.publish`: publish the message; with QoS >= 1 succeed only on the broker's confirm.

`process` returns when the broker confirmed: PUBACK for QoS 1, PUBCOMP for
QoS 2 (for QoS 0, when the packet is handed to the socket). Anything else raises
`DeliveryFailed`, so the source message is not acknowledged, or goes to the
flow's `on error` route:

    connection down                   -> waits up to `connect_wait` s for the reconnect, then fails
    connection lost before the PUBACK -> fails (the broker may still have it: a duplicate later)
    MQTT 5 PUBACK with a failure code -> fails with the broker's reason (e.g. not authorized)
    no confirm within `timeout` s     -> fails
    topic rendered with '+', '#' or empty -> fails, naming the topic

The body is the payload. With MQTT 5 the content type travels as the Content
Type property and headers as user properties (see `user_properties`), plus
`traceparent`.
"""

from __future__ import annotations

from connectors.mqtt.client import MqttClient
from connectors.mqtt.convert import TRACEPARENT, Inbound, PackedProperties, content_type_only, publish_properties
from connectors.mqtt.settings import (
    PROTOCOL_FIELD,
    QOS_FIELD,
    URL_FIELD,
    Settings,
    broker_url,
    publisher_client_id,
)
from connectors.mqtt.topics import topic_problem
from flowengine.plugin import (
    AsyncNode,
    BuildContext,
    DeliveryFailed,
    Field,
    KindSpec,
    Message,
    NotConnected,
    Role,
    Services,
    Template,
)

# Headers that describe an HTTP hop or carry credentials: never forwarded as user properties.
NOT_FORWARDED = frozenset({
    "authorization", "proxy-authorization", "cookie", "set-cookie", "host", "connection", "content-length",
    "content-type", "transfer-encoding", "keep-alive", "upgrade", "te", "trailer", TRACEPARENT,
})


class MqttPublish(AsyncNode):
    def __init__(self, flow: str, name: str, settings: Settings, topic: Template, *, qos: int, retain: bool,
                 user_properties: bool | frozenset[str], timeout: float, connect_wait: float) -> None:
        super().__init__(name, "mqtt.publish")
        self.label = f"flow {flow} node {name}"
        self.settings = settings
        self.topic = topic
        self.fixed_topic = topic.source if topic.is_constant else None
        self.qos = qos
        self.retain = retain
        self.user_properties = user_properties
        self.timeout = timeout
        self.connect_wait = connect_wait
        self.client: MqttClient | None = None

    async def open(self, services: Services) -> None:
        self.client = MqttClient(self.settings, self.label, self)
        await self.client.connect()

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()

    # A publisher's handler: it subscribes to nothing.
    async def ready(self, client: MqttClient, session_present: bool) -> None:
        pass

    def lost(self) -> None:
        pass

    def message(self, packet: Inbound) -> None:
        pass

    async def process(self, msg: Message) -> Message:
        client = self.client
        assert client is not None, "mqtt.publish used before open()"
        topic = self.fixed_topic
        if topic is None:
            topic = self.topic.render(msg)
            problem = topic_problem(topic)
            if problem:
                raise DeliveryFailed(f"cannot publish to topic '{topic}': {problem}")
        if not client.connected and not await client.wait_connected(self.connect_wait):
            raise DeliveryFailed(f"not connected to MQTT broker {self.settings.url.masked()} "
                                 f"(waited {self.connect_wait:g} s for the reconnect)")
        try:
            props = self._properties(msg) if self.settings.v5 else None
            await client.publish(topic, msg.body, self.qos, self.retain, props, self.timeout)
        except NotConnected as err:
            raise DeliveryFailed(f"{err}; message to '{topic}' not confirmed") from None
        except ValueError as err:
            raise DeliveryFailed(f"cannot publish to topic '{topic}': {err}") from None
        return msg

    def _properties(self, msg: Message) -> PackedProperties:
        wanted = self.user_properties
        if not msg.headers:
            if msg.traceparent is None:
                return content_type_only(msg.content_type)
            pairs = []
        elif wanted is True:
            pairs = [(k, str(v)) for k, v in msg.headers.items() if k.lower() not in NOT_FORWARDED]
        elif wanted:
            pairs = [(k, str(v)) for k, v in msg.headers.items() if k in wanted]
        else:
            pairs = []
        if msg.traceparent:
            pairs.append((TRACEPARENT, msg.traceparent))
        return publish_properties(msg.content_type, pairs)


def build(ctx: BuildContext) -> MqttPublish:
    o = ctx.options
    url = broker_url(ctx)
    topic = ctx.option_template("topic")
    if topic.is_constant and (problem := topic_problem(topic.source)):
        raise ctx.fail(f"bad topic '{topic.source}': {problem}", "topic")
    user = o["user_properties"]
    settings = Settings(url=url, client_id=o.get("client_id") or publisher_client_id(ctx.flow, ctx.name),
                        protocol=o["protocol"])
    return MqttPublish(
        ctx.flow, ctx.name, settings, topic,
        qos=o["qos"], retain=o["retain"], user_properties=user if isinstance(user, bool) else frozenset(user),
        timeout=float(o["timeout"]), connect_wait=float(o["connect_wait"]),
    )


SPEC = KindSpec(
    name="mqtt.publish",
    role=Role.SINK,
    external=True,
    summary="Publish the message to an MQTT topic; with QoS 1 or 2 it succeeds only on the broker's PUBACK/PUBCOMP.",
    description=(
        "The body is the payload. A lost connection, a broker refusal or a missing confirm fails the message "
        "with `delivery_failed`, so its source is not acknowledged. With MQTT 5 the content type, the headers "
        "(as user properties; credentials and HTTP hop headers excepted) and `traceparent` travel along."
    ),
    build=build,
    options={
        "url": URL_FIELD,
        "topic": Field({"type": "string", "minLength": 1}, "Topic; a template, e.g. alerts/{{ body.device_id }}",
                       required=True, template=True, examples=("alerts/{{ body.device_id }}",)),
        "qos": QOS_FIELD,
        "retain": Field({"type": "boolean"}, "Ask the broker to keep the message as the topic's last value",
                        default=False),
        "user_properties": Field({"anyOf": [{"type": "boolean"}, {"type": "array", "items": {"type": "string"}}]},
                                 "MQTT 5: send headers as user properties: true (all but credentials and HTTP "
                                 "hop headers), false (none), or a list of header names", default=True),
        "client_id": Field({"type": "string", "minLength": 1, "maxLength": 65535},
                           "Client id; defaults to fe-FLOW-NODE-pub-RANDOM (a publisher keeps no session)"),
        "protocol": PROTOCOL_FIELD,
        "timeout": Field({"type": "number", "exclusiveMinimum": 0}, "Seconds to wait for the broker's PUBACK/PUBCOMP",
                         default=30),
        "connect_wait": Field({"type": "number", "minimum": 0},
                              "While the connection is down, seconds a publish waits for it before failing",
                              default=5),
    },
)
