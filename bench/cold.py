"""Cold canonical page per source against its floor: round trips in a row x latency + CPU.

A cold request cannot be faster than the vendor calls that must wait for one another
(the longest chain of calls, each sent after the previous one answered: its *round
trips*) times the vendor's latency, plus the CPU the request costs. This bench runs the
real server over loopback against the demo emulator with the cache off, one page of the
canonical query per source at each source's default ``max_concurrency`` (or the one
given), and prints per source:

- the vendor calls and the round trips in a row, read off the emulator's request log
  (each call's arrival and duration);
- the CPU floor: the same cold query with no vendor latency (server, emulator and
  loopback on this machine), median of the runs;
- the floor, ``round trips x latency + CPU floor``, the measured cold median, and their
  ratio (the target: within 1.3).

It stops with an error when a cold run made no vendor call, when the measured time is
below ``round trips x latency`` (the latency was not in effect, so it measured nothing),
or when the answers with and without latency differ.

    python -m bench.cold [--users 120] [--page 50] [--runs 5] [--latency-ms 50]
                         [--concurrency N]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from typing import Any

from bench.checks import BenchError, require_cold, require_same
from bench.federation import QUERY
from bench.runs import timed_query
from connectors.sandbox import Emulator, demo_emulator, sequential_round_trips
from connectors.settings import SourceSettings
from graph.config import CacheSettings
from tests.harness import DEMO_SOURCES, demo_sources, run_server

TARGET = 1.3


async def _cold(
    emulator: Emulator, sources: list[SourceSettings], variables: dict[str, Any], runs: int
) -> tuple[list[float], int, int, dict[str, Any]]:
    """Wall times of ``runs`` cold runs (after one that logs in), with the last run's vendor
    calls, round trips in a row and answer."""
    times: list[float] = []
    async with run_server(sources, CacheSettings(backend="none")) as server:
        await server.data(QUERY, variables)  # Absorb's login, connection set-up
        for _ in range(runs):
            elapsed, _, data = await timed_query(server, emulator, QUERY, variables)
            times.append(elapsed)
    requests = emulator.requests  # the last run's: timed_query clears the log first
    return times, len(requests), sequential_round_trips(requests), data


async def _row(
    label: str,
    emulator: Emulator,
    sources: list[SourceSettings],
    variables: dict[str, Any],
    runs: int,
    latency: float,
) -> float:
    emulator.latency_seconds = 0.0
    instant, _, _, expected = await _cold(emulator, sources, variables, runs)
    emulator.latency_seconds = latency
    times, calls, rounds, data = await _cold(emulator, sources, variables, runs)
    require_cold(label, calls)
    require_same(label, expected, data)
    cpu, measured = statistics.median(instant), statistics.median(times)
    if measured < rounds * latency:
        raise BenchError(f"{label}: {measured:.3f} s is below {rounds} round trips of latency")
    floor = rounds * latency + cpu
    ratio = measured / floor
    print(
        f"{label:>9}: {calls:>3} vendor calls, {rounds:>2} round trips in a row; "
        f"floor {rounds} x {latency * 1000:.0f} ms + CPU {cpu * 1000:.0f} ms = "
        f"{floor * 1000:.0f} ms; cold median {measured * 1000:.0f} ms; "
        f"ratio {ratio:.2f} ({'within' if ratio <= TARGET else 'OVER'} {TARGET})"
    )
    return ratio


def _concurrency(sources: list[SourceSettings]) -> str:
    return ", ".join(f"{source.kind} {source.max_concurrency}" for source in sources)


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=120)
    parser.add_argument("--page", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--concurrency", type=int, default=None)
    args = parser.parse_args(argv)
    print(f"command: python -m bench.cold {' '.join(argv)}".rstrip())
    async with demo_emulator(users=args.users) as emulator:
        extra = {} if args.concurrency is None else {"max_concurrency": args.concurrency}
        sources = demo_sources(emulator, **extra)
        print(f"max_concurrency: {_concurrency(sources)}")
        ratios = []
        for vendor, source in DEMO_SOURCES.items():
            variables = {"first": args.page, "sources": [source]}
            latency = args.latency_ms / 1000
            ratios.append(await _row(vendor, emulator, sources, variables, args.runs, latency))
        print(f"worst ratio {max(ratios):.2f} (target {TARGET})")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
