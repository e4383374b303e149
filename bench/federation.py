"""Vendor calls and latency of the canonical traversal per source and across all four.

Runs the real server over loopback against the four-vendor demo emulator and asks the
canonical query (users → progressions → revision → course → skills) for one page,
first of each source alone, then of all sources merged, and prints the vendor calls per
vendor and the median wall time. Kombo and Absorb batch; Skilljar and StackOne have no
batch endpoints and fan out per user and per course (bounded per source).

    python -m bench.federation [--users 120] [--page 50] [--runs 5] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter

from connectors.sandbox import demo_emulator
from tests.harness import CANONICAL_QUERY, DEMO_SOURCES, demo_sources, run_server


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=120)
    parser.add_argument("--page", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args(argv)
    print(f"command: python -m bench.federation {' '.join(argv)}".rstrip())
    emulator = demo_emulator(users=args.users, latency_seconds=args.latency_ms / 1000)
    async with emulator, run_server(demo_sources(emulator)) as server:
        choices: list[tuple[str, list[str] | None]] = [
            (vendor, [source]) for vendor, source in DEMO_SOURCES.items()
        ]
        choices.append(("all four", None))
        for label, sources in choices:
            timings: list[float] = []
            calls: Counter[str] = Counter()
            for _ in range(args.runs):
                emulator.clear_requests()
                started = time.perf_counter()
                query = CANONICAL_QUERY.replace(
                    "users(first: $first, after: $after)",
                    "users(first: $first, after: $after, sources: $sources)",
                ).replace("$after: String)", "$after: String, $sources: [String!])")
                data = await server.data(query, {"first": args.page, "sources": sources})
                timings.append(time.perf_counter() - started)
                calls = Counter(request.vendor for request in emulator.requests)
            users = len(data["users"]["edges"])
            per_vendor = ", ".join(f"{vendor} {n}" for vendor, n in sorted(calls.items()))
            print(
                f"{label:>9}: {users} users, {sum(calls.values())} vendor calls ({per_vendor}); "
                f"median {statistics.median(timings) * 1000:.0f} ms over {args.runs} runs"
            )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
