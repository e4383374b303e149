"""Single-flight: concurrent identical vendor calls share one call in flight.

Keys are cache keys, so "identical" means the same source, tenant and record, page or
group. A batch asking for some keys already in flight joins those and starts one call
for the rest only. The shared call runs in a task of its own: a caller that is
cancelled stops waiting but does not cancel the call for the others, and a failure
reaches every caller waiting on one of its keys.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Generic, TypeVar

__all__ = ["SingleFlight"]

V = TypeVar("V")

Call = Callable[[list[str]], Awaitable[Mapping[str, V]]]


class SingleFlight(Generic[V]):
    """The calls in flight of one connector, by key."""

    def __init__(self) -> None:
        self._flights: dict[str, asyncio.Future[V]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._task_of: dict[str, asyncio.Task[None]] = {}
        self._keys_of: dict[asyncio.Task[None], list[str]] = {}
        self._waiters: dict[asyncio.Task[None], int] = {}

    def __len__(self) -> int:
        return len(self._flights)

    @property
    def waiting(self) -> int:
        """Callers waiting on a call in flight (each counted once per call it waits on)."""
        return sum(self._waiters.values())

    async def run(self, keys: Sequence[str], call: Call[V]) -> list[V | BaseException]:
        """The value, or the exception, of each key in order.

        Keys not in flight are passed to one new ``call``, which returns a value for
        each of them (missing ones are an error in ``call``).
        """
        futures = self._join(keys, call)
        tasks = {self._task_of[key] for key in keys if key in self._task_of}
        for task in tasks:
            self._waiters[task] = self._waiters.get(task, 0) + 1
        try:
            # shield: cancelling this caller must not cancel a future others await.
            return await asyncio.gather(
                *(asyncio.shield(futures[key]) for key in keys), return_exceptions=True
            )
        finally:
            for task in tasks:
                self._leave(task)

    def _leave(self, task: asyncio.Task[None]) -> None:
        left = self._waiters.get(task, 1) - 1
        if left > 0:
            self._waiters[task] = left
            return
        self._waiters.pop(task, None)
        if not task.done():
            task.cancel()  # nobody waits for it any more

    def _join(self, keys: Sequence[str], call: Call[V]) -> dict[str, asyncio.Future[V]]:
        futures = {key: self._flights[key] for key in keys if key in self._flights}
        new = [key for key in dict.fromkeys(keys) if key not in futures]
        if new:
            loop = asyncio.get_running_loop()
            mine = {key: loop.create_future() for key in new}
            self._flights.update(mine)
            futures.update(mine)
            task = loop.create_task(self._fly(new, call, mine))
            self._tasks.add(task)
            self._task_of.update(dict.fromkeys(new, task))
            self._keys_of[task] = new
            task.add_done_callback(self._done)
        return futures

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._waiters.pop(task, None)
        for key in self._keys_of.pop(task, []):
            if self._task_of.get(key) is task:
                del self._task_of[key]

    async def _fly(
        self, keys: list[str], call: Call[V], futures: dict[str, asyncio.Future[V]]
    ) -> None:
        try:
            results = await call(keys)
        except asyncio.CancelledError:
            for future in futures.values():
                future.cancel()
            raise
        except Exception as error:  # noqa: BLE001 - handed to every waiter, who re-raises it
            for future in futures.values():
                future.set_exception(error)
                future.exception()  # retrieved: no "never retrieved" log if all waiters left
        else:
            for key, future in futures.items():
                if key in results:
                    future.set_result(results[key])
                else:
                    future.set_exception(KeyError(key))
                    future.exception()
        finally:
            for key, future in futures.items():
                if self._flights.get(key) is future:
                    del self._flights[key]

    async def close(self) -> None:
        """Cancel the calls in flight (the server is shutting down)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
