"""How fast the default [limits] refuse abusive queries, and /healthz while they do.

Runs the real server with the shipped defaults against the emulator and sends, for each
limit, a query just past it (the shapes the issue measured: 4,000 aliases of a failing
field, 1 MB of repeated fields, a fragment bomb, an over-priced nested page, …). Prints
the median and worst refusal time per limit and checks each was refused with its own
code and made no vendor call. Then ``--clients`` concurrent clients send abusive queries
for ``--seconds`` while /healthz is polled: its p50/p99/max.

    python -m bench.limits [--runs 5] [--clients 4] [--seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence

from connectors.sandbox import demo_emulator
from graph.config import LimitsSettings
from tests.harness import GraphQLServer, demo_sources, run_server

DEFAULTS = LimitsSettings()


def _bomb(levels: int) -> str:
    spreads = "".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}\n" for i in range(levels)
    )
    return "{ ...F0 }\n" + spreads + f"fragment F{levels} on Query {{ __typename }}"


ABUSE: dict[str, tuple[str, str]] = {
    "aliases: 4,000 x node(id: bad), 128 KB": (
        "{ " + " ".join(f'a{i}: node(id: "bad") {{ id }}' for i in range(4000)) + " }",
        "TOO_MANY_TOKENS",
    ),
    f"aliases: {DEFAULTS.max_aliases + 1} x sources {{ health }}": (
        "{ sources { "
        + " ".join(f"a{i}: health {{ ok }}" for i in range(DEFAULTS.max_aliases + 1))
        + " } }",
        "TOO_MANY_ALIASES",
    ),
    "body: 1 MB of repeated fields": (
        "{ sources { " + "name " * 200_000 + "} }",
        "REQUEST_TOO_LARGE",
    ),
    "fragment bomb: 2^40 fields": (_bomb(40), "TOO_MANY_FIELDS"),
    "depth: 14 levels": (
        "{ users(first: 1) { edges { node { progressions(first: 1) { edges { node { "
        "revision { course { revisions { edges { node { progressions(first: 1) { edges { "
        "node { id } } } } } } } } } } } } } } }",
        "QUERY_TOO_DEEP",
    ),
    f"root fields: {DEFAULTS.max_root_fields + 1}": (
        "{ " + "sources { name } " * (DEFAULTS.max_root_fields + 1) + "}",
        "TOO_MANY_ROOT_FIELDS",
    ),
    "cost: users(first:250){progressions(first:250){revision{course}}}": (
        "{ users(first: 250) { edges { node { progressions(first: 250) { edges { node { "
        "revision { course { id } } } } } } } } }",
        "QUERY_TOO_COSTLY",
    ),
}


async def _refusal(server: GraphQLServer, query: str) -> tuple[float, int, list[str]]:
    started = time.perf_counter()
    status, body, _ = await server.send(query)
    elapsed = time.perf_counter() - started
    return elapsed, status, [e["extensions"]["code"] for e in body.get("errors", [])]


async def _health_under_abuse(
    server: GraphQLServer, clients: int, seconds: float
) -> tuple[list[float], int]:
    stop = time.perf_counter() + seconds
    refused = 0
    abusive = next(iter(ABUSE.values()))[0]

    async def abuse() -> None:
        nonlocal refused
        while time.perf_counter() < stop:
            _, _, codes = await _refusal(server, abusive)
            assert codes == ["TOO_MANY_TOKENS"], codes
            refused += 1

    async def poll() -> list[float]:
        latencies = []
        while time.perf_counter() < stop:
            started = time.perf_counter()
            async with server.session.get(server.url + "/healthz") as response:
                assert response.status == 200
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.01)
        return latencies

    results = await asyncio.gather(poll(), *(abuse() for _ in range(clients)))
    return results[0], refused


async def run(runs: int, clients: int, seconds: float) -> int:
    emulator = demo_emulator(seed=7, users=60)
    async with emulator, run_server(demo_sources(emulator, max_attempts=1)) as server:
        print(f"{'limit (query just past it)':<68} {'code':<22} {'p50 ms':>7} {'max ms':>7}")
        for name, (query, code) in ABUSE.items():
            emulator.clear_requests()
            timings = []
            for _ in range(runs):
                elapsed, status, codes = await _refusal(server, query)
                assert codes == [code], (name, status, codes)
                timings.append(elapsed * 1000)
            assert emulator.count() == 0, f"{name}: the refusal made vendor calls"
            median, worst = statistics.median(timings), max(timings)
            print(f"{name:<68} {code:<22} {median:>7.1f} {worst:>7.1f}")
        latencies, refused = await _health_under_abuse(server, clients, seconds)
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    print(
        f"/healthz while {clients} clients sent 128 KB abusive queries for {seconds:.0f} s "
        f"({refused} refused): {len(latencies)} checks, "
        f"p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
        f"max {ordered[-1] * 1000:.1f} ms"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    print("$ python -m bench.limits " + " ".join(sys.argv[1:] if argv is None else argv))
    return asyncio.run(run(args.runs, args.clients, args.seconds))


if __name__ == "__main__":
    raise SystemExit(main())
