#!/usr/bin/env bash
# Make sure RabbitMQ (127.0.0.1:5672) and Mosquitto (127.0.0.1:1883) answer before the
# tests run: start them if installed but down, install them (Debian, as root) if missing,
# and fail loudly otherwise. Broker tests never skip, so a missing broker is an error here.
set -euo pipefail

AMQP_PORT=${FLOWENGINE_AMQP_PORT:-5672}
MQTT_PORT=${FLOWENGINE_MQTT_PORT:-1883}

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() {  # name port seconds
    local i
    for ((i = 0; i < $3 * 5; i++)); do
        answers "$2" && return 0
        sleep 0.2
    done
    echo "ensure-brokers: $1 did not answer on 127.0.0.1:$2 within $3 s" >&2
    return 1
}

install_if_missing() {  # command package
    command -v "$1" >/dev/null && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "ensure-brokers: installing $2 with apt-get" >&2
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
    fi
    command -v "$1" >/dev/null || { echo "ensure-brokers: $2 is not installed and cannot be installed here" >&2; exit 1; }
}

if ! answers "$AMQP_PORT"; then
    install_if_missing rabbitmq-server rabbitmq-server
    echo "ensure-brokers: starting RabbitMQ" >&2
    rabbitmq-server -detached
    wait_for RabbitMQ "$AMQP_PORT" 90
    rabbitmqctl await_startup >/dev/null 2>&1 || true
fi

if ! answers "$MQTT_PORT"; then
    install_if_missing mosquitto mosquitto
    echo "ensure-brokers: starting Mosquitto" >&2
    mkdir -p /run/mosquitto
    chown mosquitto: /run/mosquitto 2>/dev/null || true
    mosquitto -d -c /etc/mosquitto/mosquitto.conf
    wait_for Mosquitto "$MQTT_PORT" 30
fi

echo "ensure-brokers: RabbitMQ on 127.0.0.1:$AMQP_PORT and Mosquitto on 127.0.0.1:$MQTT_PORT answer" >&2
