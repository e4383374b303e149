"""Upstream vendor calls and latency of the canonical traversal, by number of users.

Runs the real server (uvicorn + connectors + DataLoaders) over loopback against the
vendor emulator, pages the canonical query (users → progressions → revision → course
→ skills) through every user, and prints per-endpoint call counts and wall-time medians.
Cold runs have the cache off, so every run pays the vendor calls it counts; warm runs
page again through a server whose entity cache (memory; the response cache off, so every
run executes) one traversal has filled. The bench
stops with an error when a cold traversal makes no vendor call or a warm one makes any.

    python -m bench.upstream_calls [--users 50 500] [--page 50] [--runs 5] [--latency-ms 0]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter
from typing import Any

from bench.checks import require_cold, require_same, require_warm
from connectors.sandbox import Emulator, KomboTenant, generate_world
from graph.config import CacheSettings
from tests.harness import CANONICAL_QUERY, GraphQLServer, kombo_source, run_server


async def _traverse(server: GraphQLServer, page: int) -> list[dict[str, Any]]:
    after, pages = None, []
    while True:
        data = await server.data(CANONICAL_QUERY, {"first": page, "after": after})
        pages.append(data)
        if not data["users"]["pageInfo"]["hasNextPage"]:
            return pages
        after = data["users"]["pageInfo"]["endCursor"]


async def _runs(
    server: GraphQLServer, emulator: Emulator, page: int, runs: int
) -> tuple[list[float], Counter[str], list[dict[str, Any]]]:
    """Wall times of ``runs`` traversals, the vendor calls of the last, and its pages."""
    timings: list[float] = []
    calls: Counter[str] = Counter()
    pages: list[dict[str, Any]] = []
    for _ in range(runs):
        emulator.clear_requests()
        started = time.perf_counter()
        pages = await _traverse(server, page)
        timings.append(time.perf_counter() - started)
        calls = Counter(request.path for request in emulator.requests)
    return timings, calls, pages


async def measure(users: int, page: int, runs: int, latency_ms: float) -> None:
    tenant = KomboTenant("bench-key", "bench:tenant", generate_world(seed=7, users=users))
    emulator = Emulator([tenant], latency_seconds=latency_ms / 1000)
    async with emulator:
        sources = [kombo_source("bench", emulator, tenant)]
        async with run_server(sources, CacheSettings(backend="none")) as server:
            cold_times, calls, cold_pages = await _runs(server, emulator, page, runs)
        async with run_server(sources, CacheSettings(backend="memory", responses=False)) as server:
            await _traverse(server, page)  # fills the cache
            warm_times, warm_calls, warm_pages = await _runs(server, emulator, page, runs)
    label = f"{users} users"
    require_cold(label, sum(calls.values()))
    require_warm(label, sum(warm_calls.values()))
    require_same(label, cold_pages, warm_pages)
    seen = sum(len(data["users"]["edges"]) for data in cold_pages)
    pages = len(cold_pages)
    total = sum(calls.values())
    print(
        f"{users:>5} users ({seen} live), first={page}: {pages} GraphQL pages, "
        f"cold {total} upstream calls ({total / pages:.1f} per page) "
        f"[users {calls['/lms/users']}, course-progressions {calls['/lms/course-progressions']}, "
        f"courses {calls['/lms/courses']}], median {statistics.median(cold_times) * 1000:.0f} ms; "
        f"warm 0 calls, median {statistics.median(warm_times) * 1000:.0f} ms; over {runs} runs"
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
