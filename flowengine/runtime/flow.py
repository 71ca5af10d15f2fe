"""Run one compiled flow: walk messages through the graph with at-least-once accounting.

A source hands in a message; `_walk` carries it from node to node in the same
task (a linear chain of transforms is a loop of plain calls, no task hop), fans
out with `asyncio.gather` only where the graph forks, and returns an `Outcome`
once *every* path finished. The source acks on `outcome.ok` and nacks
otherwise, so a crash or failure before that means redelivery, never loss.

A failing node sends its input, with the error in headers, to its `on error`
route or the flow's; without one, the message fails and the source nacks.
In-flight messages per source are bounded by a counter of free slots (`slots.py`,
`max_in_flight`): a slow sink makes `submit` wait, which makes the source stop
reading (back pressure).
"""

from __future__ import annotations

import asyncio
import difflib
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from flowengine.compile.graph import CompiledFlow, EdgeKind
from flowengine.compile.policy import Policy
from flowengine.core.message import Message
from flowengine.core.nodes import AsyncNode, Branch, Node, Output, Settle, Source, SourceContext, Transform
from flowengine.core.outcome import Outcome
from flowengine.errors import MessageError, MessageTooLarge, NodeFailed
from flowengine.observe.otel import NodeTracer
from flowengine.observe.tracing import trace_id
from flowengine.runtime.slots import Slots

log = logging.getLogger("flowengine.runtime")

Observer = Callable[[str, str, float], None]
"""Told how long each source message took, every path included: (flow, source node, seconds)."""


_ROUTES = (EdgeKind.NEXT, EdgeKind.WHEN, EdgeKind.ELSE)


class _Mode(Enum):
    SYNC = 0
    ASYNC = 1
    BRANCH = 2
    SOURCE = 3


@dataclass(slots=True)
class NodeStats:
    received: int = 0
    sent: int = 0
    errors: int = 0
    dropped: int = 0
    last_error: str | None = None


@dataclass(slots=True)
class _Step:
    name: str
    node: Any
    mode: _Mode
    next: tuple[str, ...]
    error_to: str | None
    stats: NodeStats
    policy: Policy | None
    kind: str = ""
    max_bytes: int | None = None
    targets: frozenset[str] = frozenset()  # where a branch may route: its outgoing edges


def _mode(node: Node) -> _Mode:
    if isinstance(node, Source):
        return _Mode.SOURCE
    if isinstance(node, Branch):
        return _Mode.BRANCH
    if isinstance(node, AsyncNode):
        return _Mode.ASYNC
    if isinstance(node, Transform):
        return _Mode.SYNC
    raise TypeError(f"{node!r} is not a Transform, AsyncNode, Branch or Source")


class FlowRuntime:
    """A running flow. `start` opens nodes then sources; `stop` drains, then closes."""

    def __init__(
        self, flow: CompiledFlow, services: Any, *, max_in_flight: int = 256, observe: Observer | None = None
    ) -> None:
        self.flow = flow
        self.observe = observe
        self.name = flow.name
        self.services = services
        self._tracer: NodeTracer | None = getattr(services, "tracer", None)
        self.max_in_flight = max_in_flight
        self.stats: dict[str, NodeStats] = {}
        self._steps: dict[str, _Step] = {}
        for info in flow.infos():
            if info.runtime is None:
                raise ValueError(f"node {info.name!r} of flow {flow.name!r} was not built; compile errors?")
            stats = self.stats[info.name] = NodeStats()
            nxt = tuple(flow.successors(info.name, EdgeKind.NEXT))
            err = flow.successors(info.name, EdgeKind.ERROR)
            self._steps[info.name] = _Step(
                info.name,
                info.runtime,
                _mode(info.runtime),
                nxt,
                err[0] if err else None,
                stats,
                info.policy,
                info.kind,
                info.max_bytes,
            )
            self._steps[info.name].targets = frozenset(flow.successors(info.name, *_ROUTES))
        self._sources = [s for s in self._steps.values() if s.mode is _Mode.SOURCE]
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._contexts: dict[str, SourceContext] = {}
        self.started = False
        self.paused = False

    @property
    def in_flight(self) -> int:
        return self._in_flight

    # --- lifecycle -------------------------------------------------------------
    async def start(self, *, sources: bool = True) -> None:
        """Open every node, then start the sources (unless `sources` is False: a runtime
        that only takes injected messages, e.g. to replay dead letters)."""
        opened: list[Node] = []
        try:
            for step in self._steps.values():
                if step.mode is not _Mode.SOURCE:
                    step.node.attach(functools.partial(self._emit_from, step))
                    step.node.bind(self._call)
                    await step.node.open(self.services)
                    opened.append(step.node)
            for step in self._sources if sources else ():
                await step.node.open(self.services)
                opened.append(step.node)
                self._contexts[step.name] = self._context(step)
                await step.node.start(self._contexts[step.name])
        except BaseException:
            for node in reversed(opened):
                await _quietly(node.stop() if isinstance(node, Source) else node.close())
            raise
        self.started = True
        self.paused = False
        log.info("flow %s started (%d nodes)", self.name, len(self._steps), extra={"flow": self.name})

    async def stop(self, drain_timeout: float = 30.0) -> None:
        """Stop sources, wait for in-flight messages (up to `drain_timeout`), close nodes."""
        if not self.started:
            return
        self.started = False
        if not self.paused:
            for step in self._sources:
                if step.name in self._contexts:
                    await _quietly(step.node.stop())
        await self.drain(drain_timeout)
        for step in self._steps.values():
            await _quietly(step.node.close())
        log.info("flow %s stopped", self.name, extra={"flow": self.name})

    async def drain(self, timeout: float) -> bool:
        """Wait until no message is in flight; False if `timeout` passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.warning(
                "flow %s: drain timed out with %d message(s) in flight",
                self.name,
                self._in_flight,
                extra={"flow": self.name},
            )
            return False
        return True

    async def pause(self, drain_timeout: float = 30.0) -> None:
        """Stop consuming; messages already in flight finish. The flow stays deployed."""
        if not self.started or self.paused:
            return
        self.paused = True
        for step in self._sources:
            await _quietly(step.node.pause())
        await self.drain(drain_timeout)
        log.info("flow %s paused", self.name, extra={"flow": self.name})

    async def reclaim(self) -> None:
        """Start this version's sources again, taking back what a failed replacement took
        over (an HTTP route, a memory channel) before its own start failed."""
        if not self.started or self.paused:
            return
        for step in self._sources:
            await _quietly(step.node.stop())
            await step.node.start(self._contexts[step.name])

    async def resume(self) -> None:
        if not self.started or not self.paused:
            return
        for step in self._sources:
            await step.node.resume(self._contexts[step.name])
        self.paused = False
        log.info("flow %s resumed", self.name, extra={"flow": self.name})

    async def _emit_from(self, step: _Step, msg: Message, error: MessageError | None = None) -> Outcome:
        self._enter()
        try:
            outcome = Outcome(ok=True, exchange=msg.exchange)
            try:
                if error is None:
                    await self._forward(step, msg, outcome)
                else:
                    await self._fail(step, msg, error, outcome)
            finally:
                msg.exchange.finish(outcome.ok)
            return outcome
        finally:
            self._leave()

    def _context(self, step: _Step) -> SourceContext:
        slots = Slots(self.max_in_flight)
        tasks: set[asyncio.Task[None]] = set()

        async def process(msg: Message) -> Outcome:
            await slots.acquire()
            try:
                return await self._run(step, msg)
            finally:
                slots.release()

        async def submit(msg: Message, settle: Settle) -> None:
            if not slots.take():
                await slots.acquire()
            task = asyncio.create_task(self._run_and_settle(step, msg, settle, slots))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        return SourceContext(self.name, self.services, process, submit)

    async def _run_and_settle(self, step: _Step, msg: Message, settle: Settle, slots: Slots) -> None:
        self._enter()
        try:
            outcome = await self._walk_from_source(step, msg)
            try:
                await settle(outcome)
            except Exception:
                log.exception(
                    "flow %s: settling message %s at source %s failed",
                    self.name,
                    msg.id,
                    step.name,
                    extra={"flow": self.name, "node": step.name, "message_id": msg.id},
                )
        finally:
            self._leave()
            slots.release()

    async def _run(self, step: _Step, msg: Message) -> Outcome:
        self._enter()
        try:
            return await self._walk_from_source(step, msg)
        finally:
            self._leave()

    def _enter(self) -> None:
        self._in_flight += 1
        self._idle.clear()

    def _leave(self) -> None:
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()

    # --- the walk --------------------------------------------------------------
    async def _walk_from_source(self, step: _Step, msg: Message) -> Outcome:
        step.stats.received += 1
        started = time.perf_counter()
        exchange = msg.exchange
        exchange.source, exchange.source_node = msg, step.name
        outcome = Outcome(ok=True, exchange=exchange)
        try:
            if step.max_bytes is not None and len(msg.body) > step.max_bytes:
                too_large = MessageTooLarge(
                    f"body of {len(msg.body)} bytes is over the limit of {step.max_bytes} bytes"
                )
                await self._fail(step, msg, too_large, outcome)
            elif self._tracer is None:
                if len(step.next) == 1:  # most sources: straight into the walk, one frame less per resume
                    await self._walk(step.next[0], msg, outcome)
                else:
                    await self._forward(step, msg, outcome)
            else:
                with self._tracer.message_span(self.name, step.name, msg):
                    await self._forward(step, msg, outcome)
        finally:
            exchange.finish(outcome.ok)
        if outcome.ok:
            step.stats.sent += 1
        elapsed = time.perf_counter() - started
        if self.observe is not None:
            self.observe(self.name, step.name, elapsed)
        if log.isEnabledFor(logging.DEBUG):
            self._log_done(step, msg, outcome, elapsed)
        return outcome

    def _log_done(self, step: _Step, msg: Message, outcome: Outcome, elapsed: float) -> None:
        verdict = "delivered" if outcome.ok and not outcome.handled else "handled" if outcome.ok else "failed"
        log.debug(
            "flow %s: message %s %s",
            self.name,
            msg.id,
            verdict,
            extra={**self._fields(step, msg), "outcome": verdict, "duration_ms": round(elapsed * 1000, 3)},
        )

    def _fields(self, step: _Step, msg: Message) -> dict[str, Any]:
        return {
            "flow": self.name,
            "revision": self.flow.revision,
            "node": step.name,
            "message_id": msg.id,
            "trace_id": trace_id(msg.traceparent),
        }

    async def inject(self, source: str, msg: Message) -> Outcome:
        """Process `msg` as if source node `source` had received it (dead-letter replay)."""
        step = self._steps[source]
        if step.mode is not _Mode.SOURCE:
            raise ValueError(f"'{source}' is not a source of flow '{self.name}'")
        return await self._run(step, msg)

    async def inject_at(self, node: str, msg: Message) -> Outcome:
        """Process `msg` as if node `node` (not a source) had just received it, with its
        policy and error route; for flow tests, which may start a message anywhere."""
        if self._steps[node].mode is _Mode.SOURCE:
            raise ValueError(f"'{node}' is a source of flow '{self.name}'; use inject")
        self._enter()
        try:
            outcome = Outcome(ok=True, exchange=msg.exchange)
            try:
                await self._walk(node, msg, outcome)
            finally:
                msg.exchange.finish(outcome.ok)
            return outcome
        finally:
            self._leave()

    async def _forward(self, step: _Step, out: Any, outcome: Outcome, targets: tuple[str, ...] | None = None) -> None:
        nexts = step.next if targets is None else targets
        if out is None:
            step.stats.dropped += 1
            return
        msgs = out if isinstance(out, list) else [out]
        if not nexts or not msgs:
            return
        if len(nexts) == 1 and len(msgs) == 1:
            await self._walk(nexts[0], msgs[0], outcome)
        else:
            await asyncio.gather(*(self._walk(n, m.copy(), outcome) for m in msgs for n in nexts))

    async def _walk(self, name: str, msg: Message, outcome: Outcome) -> None:
        while True:
            step = self._steps[name]
            stats = step.stats
            stats.received += 1
            targets: tuple[str, ...] | None = None
            try:
                if self._tracer is not None:
                    with self._tracer.node_span(self.name, step.name, step.kind):
                        out, targets = await _run_step(step, msg)
                elif step.policy is not None:
                    out, targets = await step.policy.run(functools.partial(_invoke, step, msg))
                elif step.mode is _Mode.SYNC:
                    out = step.node.process(msg)
                elif step.mode is _Mode.ASYNC:
                    out = await step.node.process(msg)
                else:
                    targets = tuple(step.node.route(msg))
                    out = msg
                if targets is not None and not step.targets.issuperset(targets):
                    raise _not_a_target(step, targets)
            except Exception as exc:
                await self._fail(step, msg, exc, outcome)
                return
            stats.sent += 1
            nexts = step.next if targets is None else targets
            if out is not None and type(out) is Message and len(nexts) == 1:
                name, msg = nexts[0], out  # the fused path: no task, no gather
                continue
            await self._forward(step, out, outcome, targets)
            return

    async def _call(self, name: str, msg: Message) -> Output:
        """Run node `name` for a node that calls it (`KindSpec.calls`: a saga step, an enrich
        lookup): under its retry policy, counted in its stats. Its output is returned to the
        caller and also goes along the called node's own edges; a failure anywhere raises."""
        step = self._steps[name]
        self._enter()
        try:
            step.stats.received += 1
            try:
                run = functools.partial(_invoke, step, msg)
                out, _ = await (step.policy.run(run) if step.policy is not None else run())
            except MessageError as error:
                error.node = error.node or name
                step.stats.errors += 1
                step.stats.last_error = f"{error.kind}: {error.message}"
                raise
            step.stats.sent += 1
            if step.next:
                outcome = Outcome(ok=True, exchange=msg.exchange)
                await self._forward(step, out, outcome)
                if not outcome.ok:
                    raise outcome.error or NodeFailed(f"the path after '{name}' failed", node=name)
            return out
        finally:
            self._leave()

    async def _fail(self, step: _Step, msg: Message, exc: Exception, outcome: Outcome) -> None:
        error = exc if isinstance(exc, MessageError) else _as_node_failed(exc)
        if error.node is None:
            error.node = step.name
        step.stats.errors += 1
        step.stats.last_error = f"{error.kind}: {error.message}"
        handler = step.error_to or self.flow.error_handler
        in_error_route = "error-node" in msg.headers
        route = handler if handler and not in_error_route and handler != step.name else None
        log.warning(
            "flow %s: node %s failed on message %s (%s): %s; %s",
            self.name,
            step.name,
            msg.id,
            error.kind,
            error.message,
            f"routed to '{route}'" if route else "not acknowledged",
            extra={**self._fields(step, msg), "error_type": error.kind, "outcome": "routed" if route else "failed"},
        )
        if outcome.error is None:
            outcome.error = error
        msg.exchange.errors.append(error)
        if route is None:
            outcome.ok = False
            return
        failed = msg.copy()
        failed.headers.update(
            {
                "error-node": step.name,
                "error-type": error.kind,
                "error-message": error.message,
                "error-attempts": str(error.attempts),
            }
        )
        before = outcome.ok
        await self._walk(route, failed, outcome)
        outcome.handled = outcome.ok and before


def _not_a_target(step: _Step, targets: tuple[str, ...]) -> NodeFailed:
    unknown = next(t for t in targets if t not in step.targets)
    known = sorted(step.targets)
    close = difflib.get_close_matches(unknown, known, n=1)
    return NodeFailed(
        f"'{unknown}' is not a target of '{step.name}' (its targets: {', '.join(known) or 'none'})"
        + (f"; did you mean '{close[0]}'?" if close else "")
    )


def _as_node_failed(exc: Exception) -> NodeFailed:
    return NodeFailed(f"{type(exc).__name__}: {exc}")


async def _run_step(step: _Step, msg: Message) -> tuple[Any, tuple[str, ...] | None]:
    if step.policy is not None:
        return await step.policy.run(functools.partial(_invoke, step, msg))
    return await _invoke(step, msg)


async def _invoke(step: _Step, msg: Message) -> tuple[Any, tuple[str, ...] | None]:
    """One try at a node, for a retry policy: any exception becomes a MessageError."""
    try:
        if step.mode is _Mode.SYNC:
            return step.node.process(msg), None
        if step.mode is _Mode.ASYNC:
            return await step.node.process(msg), None
        return msg, tuple(step.node.route(msg))
    except MessageError:
        raise
    except Exception as exc:
        raise _as_node_failed(exc) from exc


async def _quietly(aw: Any) -> None:
    try:
        await aw
    except Exception:
        log.exception("error while stopping a node")
