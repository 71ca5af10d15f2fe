"""flowengine/runtime/slots.py: the in-flight bound of a source."""

from __future__ import annotations

import asyncio

from flowengine.runtime.slots import Slots


async def test_free_slots_are_taken_without_waiting_then_waiters_are_served_in_order() -> None:
    slots, served = Slots(2), []
    assert slots.take() and slots.take()
    assert not slots.take()

    async def wait(name: str) -> None:
        await slots.acquire()
        served.append(name)

    waiters = [asyncio.create_task(wait(n)) for n in "abc"]
    await asyncio.sleep(0)
    slots.release()
    assert not slots.take()  # the released slot went to "a", not to a newcomer
    await asyncio.sleep(0)
    slots.release()
    slots.release()
    await asyncio.gather(*waiters)
    assert served == ["a", "b", "c"]
    assert not slots.take()  # all three hold their slots


async def test_a_cancelled_waiter_gives_up_its_place_and_a_slot_it_was_handed() -> None:
    slots = Slots(1)
    await slots.acquire()
    first = asyncio.create_task(slots.acquire())
    second = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0)
    slots.release()  # handed to `first` ...
    first.cancel()  # ... which is cancelled before it runs: the slot passes to `second`
    await asyncio.gather(first, return_exceptions=True)
    await asyncio.wait_for(second, 1)
    slots.release()
    assert slots.take()


async def test_a_waiter_cancelled_while_waiting_leaves_no_trace() -> None:
    slots = Slots(1)
    assert slots.take()
    waiter = asyncio.create_task(slots.acquire())
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    slots.release()
    assert slots.take()
