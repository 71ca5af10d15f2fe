"""RabbitMQ transport (aio-pika): `amqp.consume` and `amqp.publish` on one shared connection per URL."""

from connectors.amqp import consume, publish
from flowengine.registry import Registry


def register(registry: Registry) -> None:
    """Entry point `flowengine.kinds: amqp`."""
    registry.register(consume.SPEC)
    registry.register(publish.SPEC)
