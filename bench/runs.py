"""One timed query against the real server, with the vendor calls it made."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from connectors.sandbox import Emulator
from tests.harness import GraphQLServer

__all__ = ["timed_query"]


async def timed_query(
    server: GraphQLServer, emulator: Emulator, query: str, variables: dict[str, Any]
) -> tuple[float, Counter[str], Any]:
    """The query's wall time, its vendor calls per vendor (the emulator's log, cleared
    first) and its data."""
    emulator.clear_requests()
    started = time.perf_counter()
    data = await server.data(query, variables)
    elapsed = time.perf_counter() - started
    return elapsed, Counter(request.vendor for request in emulator.requests), data
