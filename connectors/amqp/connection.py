"""One RabbitMQ connection per engine and URL, and the one loop that reconnects it.

Every `amqp.consume` and `amqp.publish` node of an engine that names the same URL
shares one `AmqpConnection` (each node opens its own channel on it). The
connection owns reconnection; aio-pika's `connect_robust` is deliberately not
used, so no second reconnect loop runs underneath this one. We own it because we
want exponential backoff with jitter (robust connections retry at a fixed
interval), and because after a drop each node must redo its own setup (declare,
bind, consume; reopen a confirm channel) and log it under its flow and node.

    attach(user)      first use: connect now, and a failure raises ConnectorError
                      (a wrong URL or password shows at deploy time, not later)
    user.setup(conn)  called after every (re)connect, and again when the user's
                      channel alone was closed (see `resetup`)
    user.lost(exc)    called when the connection dropped; in-flight work is doomed
    detach(user)      the last user closes the connection

Each connection is named (client property `connection_name`, prefixed by the
URL's own `?name=` if any) so operators, and the fault tests, can find the
engine's connections on the broker.

A dead peer that sends no FIN or RST (a pulled cable, an expired NAT or firewall
entry: a half-open connection) is noticed only by heartbeats. aiormq gives up on a
connection after three heartbeat intervals plus three seconds without a frame, and its
default interval of 60 s makes that more than three minutes with the flow silent, so
the URL's `?heartbeat=` defaults to `HEARTBEAT` (7 s: noticed after 24-27 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from typing import Any, Protocol

import aio_pika
from aio_pika.abc import AbstractConnection
from yarl import URL

from connectors.amqp.transport import ClosingConnection
from flowengine.plugin import Backoff, ConnectorError, Field, NotConnected, Services

log = logging.getLogger("flowengine.amqp")

DEFAULT_URL = "amqp://guest:guest@127.0.0.1:5672/"
URL_ENV = "FLOWENGINE_AMQP_URL"
CONNECT_TIMEOUT = 10.0
HEARTBEAT = 7  # seconds; aiormq drops the connection after (HEARTBEAT + 1) * 3 s without a frame

URL_FIELD = Field(
    {"type": "string", "pattern": "^amqps?://"},
    f"Broker URL (amqp:// or amqps:// for TLS); defaults to ${URL_ENV}, else {DEFAULT_URL}",
    secret=True,
    examples=("amqps://user:${AMQP_PASSWORD}@rabbit.example.com/prod",),
)


def resolve_url(option: str | None) -> str:
    """The URL a node uses: its option, else the environment, else the local broker."""
    return option or os.environ.get(URL_ENV) or DEFAULT_URL


class RemoteCloseFilter(logging.Filter):
    """Drops aiormq's ERROR for a connection the broker closed (a restart, `close_connection`).

    aiormq logs it with `log.exception` outside any exception, so every broker restart printed
    an ERROR line followed by `NoneType: None`. The drop is ours to report: `AmqpConnection`
    logs one warning with the broker's reason and the reconnect.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Unexpected connection close from remote")


REMOTE_CLOSE_FILTER = RemoteCloseFilter()
def connect_url(url: str, name: str) -> URL:
    """The URL handed to aio-pika: our connection name, and the default heartbeat unless the
    URL sets its own. (aio-pika ignores `client_properties` when given a URL; aiormq reads
    `?name=`, and proposes `?heartbeat=` to the broker as the interval to use.)"""
    parsed = URL(url)
    query = {"heartbeat": str(HEARTBEAT), **parsed.query, "name": name}
    return parsed.with_query(query)


def masked(url: str) -> str:
    """The URL with its password hidden, for logs and errors."""
    parsed = URL(url)
    return str(parsed.with_password("***")) if parsed.password else url


class NodeLog(logging.LoggerAdapter):  # type: ignore[type-arg,unused-ignore]
    """A node's logger: lines start with `flow F node N:` and carry `flow`/`node` extras."""

    def __init__(self, flow: str, node: str) -> None:
        super().__init__(log, {"flow": flow, "node": node})
        self.label = f"flow {flow} node {node}"

    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return f"{self.label}: {msg}", kwargs


class User(Protocol):
    """A node living on a shared connection."""

    log: NodeLog

    async def setup(self, connection: AbstractConnection) -> None:
        """Open channels, declare, consume. Raising means "not ready": retried with backoff."""

    def lost(self, exc: BaseException | None) -> None:
        """The connection dropped; channels are gone. Must not block."""


class AmqpConnection:
    def __init__(self, url: str, backoff: Backoff | None = None) -> None:
        self.url = url
        self.backoff = backoff or Backoff()
        prefix = URL(url).query.get("name", "flowengine")
        self.name = f"{prefix} {socket.gethostname()} pid {os.getpid()} {uuid.uuid4().hex[:8]}"
        self._conn: AbstractConnection | None = None
        self._users: set[User] = set()
        self._pending: set[User] = set()
        self._wake = asyncio.Event()
        self._up = asyncio.Event()
        self._lock = asyncio.Lock()
        self._supervisor: asyncio.Task[None] | None = None
        self._closing = False
        logging.getLogger("aiormq.connection").addFilter(REMOTE_CLOSE_FILTER)  # once: addFilter keeps no duplicate

    @property
    def is_up(self) -> bool:
        return self._up.is_set()

    def __repr__(self) -> str:
        return f"<AmqpConnection {self.name!r} {masked(self.url)} {'up' if self.is_up else 'down'}>"

    # --- users ------------------------------------------------------------------
    async def attach(self, user: User) -> None:
        """Connect if this is the first user (fail fast), then set the user up now."""
        async with self._lock:
            if self._conn is None:
                self._closing = False
                await self._open()
                self._supervisor = asyncio.create_task(self._supervise(), name=f"amqp supervisor {self.name}")
            try:
                conn = await self.wait_up(CONNECT_TIMEOUT)
                await asyncio.wait_for(user.setup(conn), CONNECT_TIMEOUT)
            except Exception as err:
                await self._close_if_unused()
                if isinstance(err, ConnectorError):
                    raise
                raise ConnectorError(f"{user.log.label}: setup on {masked(self.url)} failed: {describe(err)}") from err
            self._users.add(user)

    async def detach(self, user: User) -> None:
        """Forget a user; the last one out closes the connection."""
        self._users.discard(user)
        self._pending.discard(user)
        await self._close_if_unused()

    async def _close_if_unused(self) -> None:
        if self._users or self._conn is None:
            return
        self._closing = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        conn, self._conn = self._conn, None
        self._up.clear()
        with contextlib.suppress(Exception):
            await conn.close()
        log.info("amqp connection %r to %s closed", self.name, masked(self.url))

    def resetup(self, user: User) -> None:
        """A user's channel closed while the connection stayed up: set it up again soon."""
        if user in self._users and not self._closing:
            self._pending.add(user)
            self._wake.set()

    async def wait_up(self, timeout: float) -> AbstractConnection:
        """The live connection, waiting up to `timeout` seconds; else NotConnected."""
        try:
            await asyncio.wait_for(self._up.wait(), timeout)
        except TimeoutError:
            raise NotConnected(f"not connected to {masked(self.url)} (waited {timeout:g}s)") from None
        assert self._conn is not None
        return self._conn

    # --- the connection ---------------------------------------------------------
    async def _open(self) -> None:
        try:
            conn = await aio_pika.connect(connect_url(self.url, self.name), timeout=CONNECT_TIMEOUT,
                                          connection_class=ClosingConnection)
        except Exception as err:
            raise ConnectorError(f"cannot connect to {masked(self.url)}: {describe(err)}") from None
        conn.close_callbacks.add(self._on_close)
        self._conn = conn
        self._up.set()
        log.info("amqp connection %r to %s is up", self.name, masked(self.url))

    def _on_close(self, sender: Any, exc: BaseException | None = None) -> None:
        if self._closing:
            return
        self._up.clear()
        if isinstance(sender, ClosingConnection):
            sender.release_socket()
        log.warning("amqp connection %r to %s lost: %s; reconnecting (%d node(s) affected)",
                    self.name, masked(self.url), describe(exc), len(self._users))
        for user in self._users:
            user.lost(exc)
        self._pending = set(self._users)
        self._wake.set()

    async def _supervise(self) -> None:
        """Reconnect after a drop, then redo every pending user's setup, with backoff."""
        attempt = 0
        while True:
            await self._wake.wait()
            self._wake.clear()
            if not self.is_up and not await self._reconnect(attempt):
                attempt += 1
                continue
            failed = await self._setup_pending()
            if failed:
                await self._retry_later(attempt, f"setup of {', '.join(sorted(failed))} failed")
                attempt += 1
            else:
                attempt = 0

    async def _reconnect(self, attempt: int) -> bool:
        """One attempt, after a jittered wait even the first time: engines that lost the
        same broker do not all come back in the same instant."""
        await self._discard_old()
        delay = self.backoff.delay(attempt)
        log.info("amqp connection %r to %s: reconnect attempt %d in %.1fs", self.name, masked(self.url),
                 attempt + 1, delay)
        await asyncio.sleep(delay)
        try:
            await self._open()
        except ConnectorError as err:
            log.warning("amqp connection %r: reconnect attempt %d failed: %s", self.name, attempt + 1, err)
            self._wake.set()
            return False
        return True

    async def _discard_old(self) -> None:
        """Release what is left of a dropped connection. Bounded: aiormq's own closing of a
        dropped connection can still be under way, and must not hold up the reconnect."""
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), 2)

    async def _setup_pending(self) -> list[str]:
        failed = []
        for user in list(self._pending):
            if not self.is_up:
                return [user.log.label]
            try:
                await asyncio.wait_for(user.setup(self._conn), CONNECT_TIMEOUT)  # type: ignore[arg-type]
                self._pending.discard(user)
            except Exception as err:
                log.error("%s: setup on amqp connection %r failed: %s", user.log.label, self.name, describe(err))
                failed.append(user.log.label)
        return failed

    async def _retry_later(self, attempt: int, why: str) -> None:
        delay = self.backoff.delay(attempt)
        log.warning("amqp connection %r to %s: %s; next attempt in %.1fs", self.name, masked(self.url), why, delay)
        await asyncio.sleep(delay)
        self._wake.set()


def describe(exc: BaseException | None) -> str:
    """A one-line account of an aio-pika/aiormq error (their str() is often empty)."""
    if exc is None:
        return "closed"
    if isinstance(exc, asyncio.CancelledError):  # aiormq cancels its reader when heartbeats stop
        return "heartbeat timeout: nothing heard from the broker for three heartbeat intervals"
    text = str(exc) or repr(exc)
    return f"{type(exc).__name__}: {text}"


def connection_for(services: Services, url: str) -> AmqpConnection:
    """The engine's connection to `url`, created on first use."""
    table = connections(services)
    if url not in table:
        table[url] = AmqpConnection(url)
    return table[url]


def connections(services: Services) -> dict[str, AmqpConnection]:
    """Every AMQP connection of an engine, by URL (tests and ops find them by `name`)."""
    table: dict[str, AmqpConnection] = services.singleton("amqp.connections", dict)
    return table
