"""`saga`: run steps in order, each with a compensating step; when one fails, undo the
completed ones in reverse order. The outcome is recorded in the engine's store.

The steps are other nodes of the flow (usually `http.request` sinks), named in
the options: `steps: [{do: "reserve_payment", undo: "release_payment"}, ...]`.
Every step gets the saga's input message with headers `saga-id` and `saga-step`;
compensations also get `saga-failed-step` and `saga-error`. A step retries under
its own `retry` policy; when it still fails, the saga compensates and then fails
with a message naming the failed step and what was undone (the error route gets
the input with `saga-outcome: compensated`). Success sends the input on with
`saga-outcome: completed`.

The record (`_saga_log`) makes the saga safe to deliver twice: the same saga id
(option `id`, the message id by default; use a business key such as the order
number) resumes where the record stops instead of repeating steps. Steps and
compensations must still be idempotent: a crash between a step's success and
its journal entry repeats that one step.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from flowengine.compile.build import BuildContext
from flowengine.compile.spec import Field, KindSpec, Role
from flowengine.core.message import Message
from flowengine.core.nodes import AsyncNode, Call
from flowengine.errors import BadMessage, MessageError, NodeFailed
from flowengine.expressions.compiled import Expression
from flowengine.kinds.patterns._durable import log
from flowengine.kinds.patterns._saga_log import DO, UNDO, Run, SagaLog, State


@dataclass(frozen=True)
class Step:
    do: str
    undo: str | None


class Saga(AsyncNode):
    def __init__(self, name: str, flow: str, steps: list[Step], saga_id: Expression) -> None:
        super().__init__(name, "saga")
        self.flow = flow
        self.steps = steps
        self.saga_id = saga_id
        self._call: Call | None = None
        self._log: SagaLog | None = None
        self._running: set[str] = set()

    def bind(self, call: Call) -> None:
        self._call = call

    async def open(self, services: Any) -> None:
        self._log = SagaLog(services.store, self.flow, self.name)

    async def process(self, msg: Message) -> Message:
        saga_id = self.saga_id(msg)
        if saga_id is None or saga_id == "":
            raise BadMessage(f"saga id `{self.saga_id.source}` is empty for this message")
        saga_id = str(saga_id)
        if saga_id in self._running:
            raise NodeFailed(f"saga '{saga_id}' is already running (a duplicate delivery?)")
        self._running.add(saga_id)
        try:
            return await self._run(saga_id, msg)
        finally:
            self._running.discard(saga_id)

    async def _run(self, saga_id: str, msg: Message) -> Message:
        assert self._log is not None, "saga used before open()"
        msg.headers["saga-id"] = saga_id
        run = self._log.begin(saga_id, time.time())
        if run.state is State.RUNNING:
            await self._forward(saga_id, msg, run)
        if run.state is State.COMPLETED:
            msg.headers["saga-outcome"] = State.COMPLETED
            return msg
        if run.state is not State.COMPENSATED:
            await self._compensate(saga_id, msg, run)
        msg.headers["saga-outcome"] = State.COMPENSATED
        undone = [s.undo for i, s in enumerate(self.steps) if i in run.undone and s.undo]
        raise NodeFailed(
            f"saga '{saga_id}' failed at '{run.failed_step}' ({run.error}); "
            f"compensated: {', '.join(reversed(undone)) or 'nothing to undo'}"
        )

    async def _forward(self, saga_id: str, msg: Message, run: Run) -> None:
        """Run the steps not done yet; on the first failure, switch the run to compensating."""
        assert self._log is not None and self._call is not None
        for i, step in enumerate(self.steps):
            if i in run.done:
                continue
            try:
                await self._call(step.do, _input(msg, step.do))
            except MessageError as err:
                self._log.record(saga_id, i, step.do, DO, f"{err.kind}: {err.message}", time.time())
                run.state, run.failed_step, run.error = State.COMPENSATING, step.do, f"{err.kind}: {err.message}"
                self._log.settle(saga_id, run, time.time())
                return
            self._log.record(saga_id, i, step.do, DO, None, time.time())
            run.done.add(i)
        run.state = State.COMPLETED
        self._log.settle(saga_id, run, time.time())
        log.info("flow %s: saga '%s' completed", self.flow, saga_id, extra={"flow": self.flow, "node": self.name})

    async def _compensate(self, saga_id: str, msg: Message, run: Run) -> None:
        """Undo the done steps, last first; a failed undo leaves the saga `failed` and raises."""
        assert self._log is not None and self._call is not None
        for i in sorted(run.done - run.undone, reverse=True):
            undo = self.steps[i].undo
            if undo is None:
                continue
            compensation = _input(msg, undo)
            compensation.headers.update({"saga-failed-step": run.failed_step or "", "saga-error": run.error or ""})
            try:
                await self._call(undo, compensation)
            except MessageError as err:
                self._log.record(saga_id, i, undo, UNDO, f"{err.kind}: {err.message}", time.time())
                run.state = State.FAILED
                self._log.settle(saga_id, run, time.time())
                left = [self.steps[j].undo for j in sorted(run.done - run.undone, reverse=True) if self.steps[j].undo]
                msg.headers["saga-outcome"] = State.FAILED
                raise NodeFailed(
                    f"saga '{saga_id}' failed at '{run.failed_step}' and compensation '{undo}' failed: "
                    f"{err.message}; still to undo: {', '.join(str(u) for u in left)}"
                ) from None
            self._log.record(saga_id, i, undo, UNDO, None, time.time())
            run.undone.add(i)
        run.state = State.COMPENSATED
        self._log.settle(saga_id, run, time.time())
        log.warning(
            "flow %s: saga '%s' failed at '%s' and was compensated",
            self.flow,
            saga_id,
            run.failed_step,
            extra={"flow": self.flow, "node": self.name},
        )


def _input(msg: Message, step: str) -> Message:
    out = msg.copy()
    out.headers["saga-step"] = step
    return out


def build(ctx: BuildContext) -> Saga:
    steps = [Step(s["do"], s.get("undo")) for s in ctx.options["steps"]]
    return Saga(ctx.name, ctx.flow, steps, ctx.option_expression("id"))


def _calls(options: dict[str, Any]) -> list[tuple[str, str]]:
    return [("steps", name) for s in options["steps"] for name in (s["do"], s.get("undo")) if name]


SPEC = KindSpec(
    name="saga",
    role=Role.TRANSFORM,
    summary="Run steps in order; if one fails, run the compensations of the completed ones in reverse.",
    description=(
        'Steps are other nodes of the flow: `steps: [{do: "pay", undo: "refund"}, {do: "ship"}]`. Each '
        "gets the input with `saga-id` and `saga-step` headers. On success the input goes on with "
        "`saga-outcome: completed`; on failure the completed steps are undone last first and the message "
        "fails (error route) with `saga-outcome: compensated`, or `failed` if a compensation failed too. "
        "Every saga's state and steps are recorded in the engine's store; a redelivered saga (same `id`) "
        "resumes from its record instead of repeating steps."
    ),
    build=build,
    calls=_calls,
    options={
        "steps": Field(
            {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "do": {"type": "string", "minLength": 1},
                        "undo": {"type": "string", "minLength": 1},
                    },
                    "required": ["do"],
                    "additionalProperties": False,
                },
            },
            "The steps in order, each {do: node, undo: node (optional)}",
            required=True,
        ),
        "id": Field(
            {"type": "string", "minLength": 1},
            "Expression of the saga's id (a business key makes redeliveries resume)",
            default="id",
            expression=True,
            examples=("body.order_id",),
        ),
    },
)
