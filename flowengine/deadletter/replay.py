"""Replay: send parked messages back into their flow, entering at their source node.

A replayed message that goes through is marked `replayed`; one that fails again
is parked again by the flow's error route (a new dead letter, with the new
error) and the old one is marked `replayed` too, since the new one supersedes it;
one that fails with no route to park it stays `parked`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flowengine.deadletter.store import DeadLetter, DeadLetterStore
from flowengine.runtime import FlowRuntime


@dataclass
class ReplayReport:
    delivered: list[int] = field(default_factory=list)
    parked_again: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.delivered)} delivered, {len(self.parked_again)} parked again, "
            f"{len(self.failed)} still failing (left parked)"
        )


async def replay(runtime: FlowRuntime, store: DeadLetterStore, letters: list[DeadLetter]) -> ReplayReport:
    report = ReplayReport()
    for letter in letters:
        if letter.status != "parked":
            continue
        outcome = await runtime.inject(letter.source, letter.to_message())
        if not outcome.ok:
            report.failed.append(letter.id)
            continue
        store.mark_replayed(letter.id)
        (report.parked_again if outcome.handled else report.delivered).append(letter.id)
    return report
