"""Vendor calls and latency of the canonical traversal per source and across all four.

Runs the real server over loopback against the four-vendor demo emulator and asks the
canonical query (users → progressions → revision → course → skills) for one page,
first of each source alone, then of all sources merged, and prints the vendor calls per
vendor and the median wall time. Kombo and Absorb batch; Skilljar and StackOne have no
batch endpoints and fan out per user and per course (bounded per source).

Every row gets fresh servers. Cold: the cache off, so each run pays its vendor calls
(the calls printed are a run's after the first, which also logs in to Absorb). Warm: a
server with the memory cache, filled by one run first. The bench stops with an error
when a cold run makes no vendor call, a warm one makes any, or their answers differ.

    python -m bench.federation [--users 120] [--page 50] [--runs 5] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from typing import Any

from bench.checks import require_cold, require_same, require_warm
from bench.runs import timed_query
from connectors.sandbox import Emulator, demo_emulator
from connectors.settings import SourceSettings
from graph.config import CacheSettings
from tests.harness import CANONICAL_QUERY, DEMO_SOURCES, demo_sources, run_server

QUERY = CANONICAL_QUERY.replace(
    "users(first: $first, after: $after)",
    "users(first: $first, after: $after, sources: $sources)",
).replace("$after: String)", "$after: String, $sources: [String!])")


async def _row(
    label: str,
    emulator: Emulator,
    sources: list[SourceSettings],
    variables: dict[str, Any],
    runs: int,
) -> None:
    cold_times: list[float] = []
    async with run_server(sources, CacheSettings(backend="none")) as server:
        _, first_calls, cold = await timed_query(server, emulator, QUERY, variables)
        calls = first_calls
        for _ in range(runs):
            elapsed, calls, cold = await timed_query(server, emulator, QUERY, variables)
            cold_times.append(elapsed)
    warm_times: list[float] = []
    # Warm means the entity cache: stored responses (bench/throughput.py) would skip execution.
    entities_only = CacheSettings(backend="memory", responses=False)
    async with run_server(sources, entities_only) as server:
        await timed_query(server, emulator, QUERY, variables)  # fills the cache
        for _ in range(runs):
            elapsed, warm_calls, warm = await timed_query(server, emulator, QUERY, variables)
            require_warm(label, sum(warm_calls.values()))
            warm_times.append(elapsed)
    require_cold(label, sum(calls.values()))
    require_same(label, cold, warm)
    extra = sum(first_calls.values()) - sum(calls.values())
    per_vendor = ", ".join(f"{vendor} {n}" for vendor, n in sorted(calls.items()))
    cold_ms, warm_ms = (statistics.median(times) * 1000 for times in (cold_times, warm_times))
    print(
        f"{label:>9}: {len(cold['users']['edges'])} users, cold {sum(calls.values())} vendor "
        f"calls ({per_vendor}; first run +{extra}), median {cold_ms:.0f} ms; "
        f"warm 0 calls, median {warm_ms:.0f} ms; {runs} runs"
    )


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=120)
    parser.add_argument("--page", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args(argv)
    print(f"command: python -m bench.federation {' '.join(argv)}".rstrip())
    emulator = demo_emulator(users=args.users, latency_seconds=args.latency_ms / 1000)
    async with emulator:
        sources = demo_sources(emulator)
        choices: list[tuple[str, list[str] | None]] = [
            (vendor, [source]) for vendor, source in DEMO_SOURCES.items()
        ]
        choices.append(("all four", None))
        for label, chosen in choices:
            variables = {"first": args.page, "sources": chosen}
            await _row(label, emulator, sources, variables, args.runs)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
