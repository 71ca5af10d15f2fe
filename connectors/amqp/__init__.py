"""RabbitMQ transport (aio-pika): `amqp.consume` and `amqp.publish` on one shared connection per URL."""

from flowengine.plugin import Registry


def register(registry: Registry) -> None:
    """Entry point `flowengine.kinds: amqp`. aio-pika is imported only when a flow uses a kind."""
    registry.register_lazy("amqp.consume", "connectors.amqp.consume:SPEC")
    registry.register_lazy("amqp.publish", "connectors.amqp.publish:SPEC")
