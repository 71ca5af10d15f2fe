"""In-memory doubles and probes: what a compiled flow runs with under `flowengine test`.

The flow is compiled exactly as in production (same kinds, option checks and
builds), then its runtime nodes are swapped before it starts:

- a node of an `external` kind (`KindSpec.external`: the http, amqp, mqtt and mllp
  connectors, and any third-party one that says so) that does I/O (an `AsyncNode`:
  publish, request, send) becomes a `Double` with the same name and kind, which
  confirms at once and passes the message on; a connector node that does no I/O
  (`http.reply` only records the answer) stays real;
- sources are never started (the runtime starts with `sources=False`): the test
  hands their messages in through `FlowRuntime.inject`, so no broker, port or
  socket is touched;
- every node but the sources is wrapped in a probe that records what it passed
  on, applies the case's stubs (a canned answer or error instead of the node's
  work, e.g. an HTTP service that answers 503), and marks the edges it exercised.

Swapping runtime nodes after compile, rather than compiling with a registry of
stand-in kinds, keeps every compile-time check of the real kinds in force.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flowengine.compile.graph import CompiledFlow, EdgeKind
from flowengine.core.message import Message
from flowengine.core.nodes import AsyncNode, Branch, Call, Emit, Node, Output, Source, Transform
from flowengine.core.outcome import Outcome
from flowengine.errors import BadMessage, DeliveryFailed, MessageError, NodeFailed, ValidationFailed

FLOW_WIDE = "*"
"""The source end of the pseudo-edge of a flow-wide `on error -> handler`."""

_ERRORS: dict[str, type[MessageError]] = {
    "bad_message": BadMessage,
    "validation": ValidationFailed,
    "node_failed": NodeFailed,
    "delivery_failed": DeliveryFailed,
}

Mark = Callable[[str, str, EdgeKind], None]


class Double(AsyncNode):
    """Stands in for a connector node: the message is confirmed at once and goes on."""

    async def process(self, msg: Message) -> Message:
        return msg


@dataclass
class Recorder:
    """What one test case saw: each node's output, and where failures were routed."""

    flow: CompiledFlow
    mark: Mark
    stubs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    outputs: dict[str, list[Message]] = field(default_factory=dict)
    routed: list[tuple[str, str]] = field(default_factory=list)  # (failed node, handler)

    def received(self, name: str, msg: Message) -> None:
        failed = msg.headers.get("error-node")
        if failed is None:
            return
        g = self.flow.graph
        if g.has_edge(failed, name) and g.edges[failed, name]["kind"] is EdgeKind.ERROR:
            self.mark(failed, name, EdgeKind.ERROR)
            self.routed.append((failed, name))
        elif name == self.flow.error_handler and not self.flow.successors(failed, EdgeKind.ERROR):
            self.mark(FLOW_WIDE, name, EdgeKind.ERROR)
            self.routed.append((failed, name))

    def passed(self, name: str, out: Output) -> None:
        msgs = [] if out is None else out if isinstance(out, list) else [out]
        self.outputs.setdefault(name, []).extend(m.copy() for m in msgs)
        if msgs:
            for target in self.flow.successors(name, EdgeKind.NEXT):
                self.mark(name, target, EdgeKind.NEXT)

    def stubbed(self, name: str, msg: Message) -> Output | None:
        """The stub's answer for `name` (None: no stub, do the real work); raises a stubbed error."""
        answers = self.stubs.get(name)
        if not answers:
            return None
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if "error" in answer:
            raise _ERRORS[answer.get("type", "delivery_failed")](answer["error"], node=name)
        out = msg.derive(json=answer["json"]) if "json" in answer else msg.derive(body=answer["body"].encode())
        if "content_type" in answer:
            out.content_type = answer["content_type"]
        out.headers.update(answer.get("headers", {}))
        return out


class _Probe(Node):
    """Delegates a node's hooks to the node it wraps; subclasses add the processing."""

    def __init__(self, inner: Node, rec: Recorder) -> None:
        super().__init__(inner.name, inner.kind)
        self.inner = inner
        self.rec = rec

    def attach(self, emit: Emit) -> None:
        """What the node emits on its own schedule (an aggregate's timeout, a delay) is recorded
        as passed on, like what it returns."""

        async def recorded(msg: Message, error: MessageError | None = None) -> Outcome:
            if error is None:
                self.rec.passed(self.inner.name, msg)
            return await emit(msg, error)

        self.inner.attach(recorded)

    def bind(self, call: Call) -> None:
        async def recorded(name: str, msg: Message) -> Output:
            self.rec.mark(self.inner.name, name, EdgeKind.CALL)
            return await call(name, msg)

        self.inner.bind(recorded)

    async def open(self, services: Any) -> None:
        await self.inner.open(services)

    async def close(self) -> None:
        await self.inner.close()

    @property
    def connected(self) -> bool:
        return self.inner.connected


class TransformProbe(_Probe, Transform):
    inner: Transform

    def process(self, msg: Message) -> Output:
        self.rec.received(self.name, msg)
        out = self.rec.stubbed(self.name, msg)
        if out is None:
            out = self.inner.process(msg)
        self.rec.passed(self.name, out)
        return out


class AsyncProbe(_Probe, AsyncNode):
    inner: AsyncNode

    async def process(self, msg: Message) -> Output:
        self.rec.received(self.name, msg)
        out = self.rec.stubbed(self.name, msg)
        if out is None:
            out = await self.inner.process(msg)
        self.rec.passed(self.name, out)
        return out


class BranchProbe(_Probe, Branch):
    inner: Branch

    def route(self, msg: Message) -> Sequence[str]:
        self.rec.received(self.name, msg)
        targets = self.inner.route(msg)
        self.rec.outputs.setdefault(self.name, []).append(msg.copy())
        for target in targets:
            if self.rec.flow.graph.has_edge(self.name, target):
                self.rec.mark(self.name, target, self.rec.flow.graph.edges[self.name, target]["kind"])
        return targets


def install(flow: CompiledFlow, rec: Recorder) -> None:
    """Swap the flow's runtime nodes for doubles and probes (see the module docstring)."""
    for info in flow.infos():
        node = info.runtime
        if node is None or isinstance(node, Source):
            continue
        if info.does_external_io:
            node = Double(info.name, info.kind)
        if isinstance(node, Branch):
            info.runtime = BranchProbe(node, rec)
        elif isinstance(node, AsyncNode):
            info.runtime = AsyncProbe(node, rec)
        elif isinstance(node, Transform):
            info.runtime = TransformProbe(node, rec)
