"""SingleFlight on its own, where the order of asyncio's steps can be set exactly: races
that HTTP timing against the emulator cannot produce on demand."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from resolvers.cache.flight import SingleFlight


async def test_a_call_started_just_as_the_previous_one_ends_keeps_each_of_its_waiters() -> None:
    """A request that asks for a key in the very step the previous call for it answers
    starts a new call before the old one is tidied away; tidying must not forget who
    waits on the new one, or the first caller to leave it cancels it for the others."""
    flight = SingleFlight[str]()
    answered, release = asyncio.Event(), asyncio.Event()

    async def first_call(keys: list[str]) -> Mapping[str, str]:
        answered.set()  # wakes the next request in the same step as this answer
        return dict.fromkeys(keys, "first")

    async def second_call(keys: list[str]) -> Mapping[str, str]:
        await release.wait()
        return dict.fromkeys(keys, "second")

    async def next_request() -> list[str | BaseException]:
        await answered.wait()
        return await flight.run(["k"], second_call)

    starter = asyncio.create_task(next_request())
    assert await flight.run(["k"], first_call) == ["first"]
    assert len(flight) == 1  # the second call is in flight
    joiner = asyncio.create_task(flight.run(["k"], second_call))
    await asyncio.sleep(0)  # one step of the loop: the joiner joins the call in flight
    assert flight.waiting == 2  # the starter and the joiner
    starter.cancel()
    await asyncio.gather(starter, return_exceptions=True)
    assert starter.cancelled()
    release.set()
    assert await joiner == ["second"]
