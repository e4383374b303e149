"""Upstream vendor calls and latency of the canonical traversal, by number of users.

Runs the real server (uvicorn + connectors + DataLoaders) over loopback against the
vendor emulator, pages the canonical query (users → progressions → revision → course
→ skills) through every user, and prints per-endpoint call counts and wall-time medians.

    python -m bench.upstream_calls [--users 50 500] [--page 50] [--runs 5] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter

from connectors.sandbox import Emulator, KomboTenant, generate_world
from tests.harness import CANONICAL_QUERY, GraphQLServer, kombo_source, run_server


async def _traverse(server: GraphQLServer, page: int) -> int:
    after, seen = None, 0
    while True:
        data = await server.data(CANONICAL_QUERY, {"first": page, "after": after})
        seen += len(data["users"]["edges"])
        if not data["users"]["pageInfo"]["hasNextPage"]:
            return seen
        after = data["users"]["pageInfo"]["endCursor"]


async def measure(users: int, page: int, runs: int, latency_ms: float) -> None:
    tenant = KomboTenant("bench-key", "bench:tenant", generate_world(seed=7, users=users))
    emulator = Emulator([tenant], latency_seconds=latency_ms / 1000)
    async with emulator, run_server([kombo_source("bench", emulator, tenant)]) as server:
        timings, calls = [], Counter[str]()
        for _ in range(runs):
            emulator.clear_requests()
            started = time.perf_counter()
            seen = await _traverse(server, page)
            timings.append(time.perf_counter() - started)
            calls = Counter(request.path for request in emulator.requests)
    pages = -(-seen // page)
    total = sum(calls.values())
    print(
        f"{users:>5} users ({seen} live), first={page}: {pages} GraphQL pages, "
        f"{total} upstream calls ({total / pages:.1f} per page) "
        f"[users {calls['/lms/users']}, course-progressions {calls['/lms/course-progressions']}, "
        f"courses {calls['/lms/courses']}]; median {statistics.median(timings) * 1000:.0f} ms "
        f"over {runs} runs"
    )


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[50, 500])
    parser.add_argument("--page", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    print(f"command: python -m bench.upstream_calls {' '.join(argv)}".rstrip())
    for users in args.users:
        await measure(users, args.page, args.runs, args.latency_ms)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
