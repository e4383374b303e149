"""Errors cost linear time: N aliases of ``node(id: "bad")``, each failing, with the limits
raised so the query runs (by default the alias, token and body limits refuse it at once).

Runs the real server against the emulator and prints, per N, the request's wall time,
the time per error and the vendor calls (none: bad IDs never reach a vendor). It first
checks it measures what it says: every answer has N ``INVALID_ID`` errors with locations.
``--reference`` also times graphql-core's own line scan (plain ``Source``) for the same
documents, i.e. what every error cost before :class:`graph.errors.IndexedSource`.

    python -m bench.errors [--sizes 1000 2000 4000 8000] [--runs 3] [--reference]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence

from graphql import Source

from connectors.sandbox import demo_emulator
from graph.config import LimitsSettings
from graph.errors import IndexedSource
from tests.harness import demo_sources, run_server

RAISED = LimitsSettings(
    max_body_bytes=100_000_000,
    max_tokens=10_000_000,
    max_fields=10_000_000,
    max_aliases=1_000_000,
    max_root_fields=1_000_000,
    max_errors=1_000_000,
)


def aliases(n: int) -> str:
    # one alias per line, as a client would pretty-print it
    return "{\n" + "\n".join(f'  a{i}: node(id: "bad") {{ id }}' for i in range(n)) + "\n}"


def scan_seconds(n: int, source_type: type[Source]) -> float:
    """Locating every error of an n-alias document: what graphql-core does per error."""
    body = aliases(n)
    source = source_type(body)
    positions = [i for i in range(len(body)) if body.startswith("node", i)]
    started = time.perf_counter()
    for position in positions:
        source.get_location(position)
    return time.perf_counter() - started


async def measure(sizes: Sequence[int], runs: int) -> list[tuple[int, float, int]]:
    figures = []
    async with demo_emulator(seed=7, users=20) as emulator:
        sources = demo_sources(emulator, max_attempts=1)
        async with run_server(sources, limits=RAISED) as server:
            await server.send(aliases(sizes[0]))  # warm-up: imports, first-use caches
            for n in sizes:
                seconds = []
                for _ in range(runs):
                    emulator.clear_requests()
                    started = time.perf_counter()
                    status, body, _ = await server.send(aliases(n))
                    seconds.append(time.perf_counter() - started)
                    errors = body.get("errors", [])
                    assert status == 200, body
                    assert len(errors) == n, f"expected {n} errors, got {errors[:1]}"
                    assert {e["extensions"]["code"] for e in errors} == {"INVALID_ID"}
                    assert errors[-1]["locations"] == [{"line": n + 1, "column": 3}]
                figures.append((n, statistics.median(seconds), emulator.count()))
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000, 8000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reference", action="store_true")
    args = parser.parse_args(argv)
    command = "python -m bench.errors " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"$ {command}")
    print(f"{'aliases':>8} {'median s':>9} {'ms/error':>9} {'vendor calls':>13}")
    figures = asyncio.run(measure(args.sizes, args.runs))
    for n, seconds, calls in figures:
        print(f"{n:>8} {seconds:>9.3f} {seconds / n * 1000:>9.3f} {calls:>13}")
    (small, small_s, _), (large, large_s, _) = figures[0], figures[-1]
    growth = (large_s / large) / (small_s / small)
    print(f"time per error grows {growth:.2f}x from {small} to {large} errors (linear: ~1x)")
    if args.reference:
        print(f"{'aliases':>8} {'Source s':>9} {'Indexed s':>10}   (locating every error)")
        for n in args.sizes:
            plain, indexed = scan_seconds(n, Source), scan_seconds(n, IndexedSource)
            print(f"{n:>8} {plain:>9.3f} {indexed:>10.4f}")
    if growth > 3:
        print("FAIL: time per error grows with the number of errors", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
