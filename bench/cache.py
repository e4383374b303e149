"""Cold versus warm: the canonical traversal through the cache, in memory and on Redis.

Runs the real server (uvicorn + connectors + DataLoaders + cache) over loopback against
the vendor emulator with a per-request latency, and prints per backend the upstream
calls of one canonical query cold (empty cache) and warm, p50/p95 latency of each over
``--runs`` runs, and the warm/cold ratio; it stops with an error when a cold run makes
no vendor call, a warm one makes any, or their answers differ. Every cold run gets a
fresh server and an emptied Redis. The Redis backend starts its own redis-server on a
free loopback port. A last line is a reference: the same query without a cache against
a vendor with no latency, to tell the server's own work (GraphQL execution) from vendor waiting.

    python -m bench.cache [--runs 20] [--latency-ms 50] [--users 120] [--first 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.checks import require_cold, require_same, require_warm
from connectors.sandbox import Emulator, KomboTenant, generate_world
from connectors.settings import SourceSettings
from graph.config import CacheSettings
from tests.cache.helpers import RedisServer
from tests.harness import CANONICAL_QUERY, GraphQLServer, kombo_source, run_server


@dataclass
class Figures:
    calls: list[int]
    seconds: list[float]

    def p(self, percent: int) -> float:
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


async def _timed(
    server: GraphQLServer, emulator: Emulator, first: int
) -> tuple[int, float, dict[str, Any]]:
    emulator.clear_requests()
    started = time.perf_counter()
    data = await server.data(CANONICAL_QUERY, {"first": first})
    elapsed = time.perf_counter() - started
    assert len(data["users"]["edges"]) == first
    return len(emulator.requests), elapsed, data


async def _measure(
    emulator: Emulator,
    sources: Sequence[SourceSettings],
    cache: CacheSettings,
    redis: RedisServer | None,
    runs: int,
    first: int,
) -> tuple[Figures, Figures]:
    cold, warm = Figures([], []), Figures([], [])
    label = f"{cache.backend} cache"
    answer: dict[str, Any] = {}
    for _ in range(runs):
        if redis is not None:
            client = redis.client()
            client.flushall()
            client.close()
        async with run_server(sources, cache) as server:
            calls, seconds, answer = await _timed(server, emulator, first)
        require_cold(label, calls)
        cold.calls.append(calls)
        cold.seconds.append(seconds)
    async with run_server(sources, cache) as server:
        await _timed(server, emulator, first)  # fill the cache
        for _ in range(runs):
            calls, seconds, data = await _timed(server, emulator, first)
            require_warm(label, calls)
            require_same(label, answer, data)
            warm.calls.append(calls)
            warm.seconds.append(seconds)
    return cold, warm


async def _floor(
    emulator: Emulator, sources: Sequence[SourceSettings], runs: int, first: int
) -> Figures:
    """The same query with no cache and a vendor that answers at once: the server's own
    work (GraphQL execution, HTTP, mapping) plus the in-process emulator's."""
    latency, emulator.latency_seconds = emulator.latency_seconds, 0.0
    floor = Figures([], [])
    try:
        async with run_server(sources, CacheSettings(backend="none")) as server:
            await _timed(server, emulator, first)
            for _ in range(runs):
                calls, seconds, _ = await _timed(server, emulator, first)
                require_cold("no cache", calls)
                floor.calls.append(calls)
                floor.seconds.append(seconds)
    finally:
        emulator.latency_seconds = latency
    return floor


def _report(backend: str, cold: Figures, warm: Figures) -> None:
    ms = 1000
    ratio = warm.p(50) / cold.p(50)
    print(
        f"{backend:>6}: upstream calls per query cold {statistics.mean(cold.calls):.1f}, "
        f"warm {statistics.mean(warm.calls):.1f} (max {max(warm.calls)}); "
        f"cold p50 {cold.p(50) * ms:.1f} ms p95 {cold.p(95) * ms:.1f} ms; "
        f"warm p50 {warm.p(50) * ms:.1f} ms p95 {warm.p(95) * ms:.1f} ms; "
        f"warm/cold p50 {ratio:.3f} ({1 / ratio:.0f}x faster)"
    )


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--users", type=int, default=120)
    parser.add_argument("--first", type=int, default=50)
    parser.add_argument("--backends", nargs="+", default=["memory", "redis"])
    args = parser.parse_args(argv)
    print(f"command: python -m bench.cache {' '.join(argv)}".rstrip())
    print(
        f"canonical query, first={args.first}, {args.users} users, emulator latency "
        f"{args.latency_ms:g} ms per request, {args.runs} runs each"
    )
    tenant = KomboTenant("bench-key", "bench:tenant", generate_world(seed=7, users=args.users))
    emulator = Emulator([tenant], latency_seconds=args.latency_ms / 1000)
    async with emulator:
        sources = [kombo_source("bench", emulator, tenant)]
        for backend in args.backends:
            redis = RedisServer() if backend == "redis" else None
            if redis is not None:
                redis.start()
            try:
                # The entity cache alone: a stored response would skip execution.
                cache = CacheSettings.model_validate(
                    {"backend": backend, "url": redis.url if redis else None, "responses": False}
                )
                cold, warm = await _measure(emulator, sources, cache, redis, args.runs, args.first)
            finally:
                if redis is not None:
                    redis.stop()
            _report(backend, cold, warm)
        floor = await _floor(emulator, sources, args.runs, args.first)
        print(
            f"  ref.: no cache, 0 ms vendor latency: p50 {floor.p(50) * 1000:.1f} ms "
            f"p95 {floor.p(95) * 1000:.1f} ms ({statistics.mean(floor.calls):.1f} upstream "
            "calls to the in-process emulator); a warm query is bounded by GraphQL execution"
        )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
