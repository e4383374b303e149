"""Splitting look-ups into vendor calls: batches of IDs, and bounded per-ID fan-out."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import TypeVar

__all__ = ["distinct_chunks", "gather_bounded"]

T = TypeVar("T")


def distinct_chunks(ids: Sequence[str], size: int) -> list[Sequence[str]]:
    """The distinct IDs, in the order given, in batches of at most ``size``."""
    unique = list(dict.fromkeys(ids))
    return [unique[i : i + size] for i in range(0, len(unique), size)]


async def gather_bounded(slots: asyncio.Semaphore, calls: Sequence[Awaitable[T]]) -> list[T]:
    """Await every call, each holding one of ``slots`` while it runs.

    Raises the first call's error (in call order) only once every call is done, so none
    is left running against a connector that may be closed next.
    """

    async def bounded(call: Awaitable[T]) -> T:
        async with slots:
            return await call

    results = await asyncio.gather(*(bounded(c) for c in calls), return_exceptions=True)
    values: list[T] = []
    for result in results:
        if isinstance(result, BaseException):
            raise result
        values.append(result)
    return values
