"""Replay: send parked messages back into their flow, entering at their source node.

A replayed message that goes through is marked `replayed`; one that fails again
is parked again by the flow's error route (a new dead letter, with the new
error and the old ones in its history) and the old one is marked `replayed` too,
since the new one supersedes it; one that fails with no route to park it stays
`parked`. A replay takes every letter of its selection, in batches, so that a
large backlog is neither cut short nor read into memory at once; a batch's
letters are marked `replayed` together at its end, so a crash in the middle of a
batch sends that batch's delivered letters again on the next replay (at least
once, as everywhere else).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flowengine.deadletter.store import DeadLetterStore, Selection
from flowengine.runtime.flow import FlowRuntime

BATCH = 500


@dataclass
class ReplayReport:
    selected: int = 0
    delivered: list[int] = field(default_factory=list)
    parked_again: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    def summary(self) -> str:
        """One line whose counts add up to what was selected (a shortfall is said, not hidden)."""
        line = (
            f"{self.selected} selected: {len(self.delivered)} delivered, {len(self.parked_again)} parked again, "
            f"{len(self.failed)} still failing (left parked)"
        )
        return line + (f", {self.missed} not replayed (no longer parked when reached)" if self.missed else "")

    @property
    def missed(self) -> int:
        """Selected letters the replay did not reach parked (another replay or a purge took them)."""
        return self.selected - len(self.delivered) - len(self.parked_again) - len(self.failed)


async def replay(
    runtime: FlowRuntime,
    store: DeadLetterStore,
    selection: Selection,
    progress: Callable[[int], None] | None = None,
    batch: int = BATCH,
) -> ReplayReport:
    """Replay every letter of `selection`; `progress(n)` after each batch of n letters."""
    report = ReplayReport(selected=selection.total)
    for letters in store.batches(selection, batch):
        done: list[int] = []
        for letter in letters:
            outcome = await runtime.inject(letter.source, letter.to_message())
            if not outcome.ok:
                report.failed.append(letter.id)
                continue
            done.append(letter.id)
            (report.parked_again if outcome.handled else report.delivered).append(letter.id)
        store.mark_replayed(done)
        if progress is not None:
            progress(len(letters))
    return report
