"""The subgraph's ``_entities`` beside ``nodes(ids:)``: vendor calls and latency.

Runs the real server (``[server] federation = true``) over loopback against the
four-vendor demo emulator and resolves N users, spread over the four sources, three ways:
``nodes(ids:)``, ``_entities`` with ID representations (what a router sends for
``@key(fields: "id")``) and ``_entities`` with email representations (``@key(fields:
"email")``, every source asked). Prints the vendor calls per vendor of a run and the median
wall time, cold (cache off; the calls are a run's after the first, which also logs in to
Absorb) and warm (entity cache filled by one run; the response cache off). Stops with an
error when a cold run makes no vendor call, a warm one makes any, cold and warm answers
differ, or ``_entities`` by ID answers or calls differently from ``nodes(ids:)``.

    python -m bench.entities [--users 50] [--runs 5] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
from collections import Counter
from typing import Any

from bench.checks import BenchError, require_cold, require_same, require_warm
from bench.runs import timed_query
from connectors.sandbox import Emulator, demo_emulator
from connectors.settings import SourceSettings
from graph.config import CacheSettings, ServerSettings
from tests.harness import demo_sources, run_server

FIELDS = "__typename ... on User { id source email firstName }"
NODES = f"query($ids: [ID!]!) {{ nodes(ids: $ids) {{ {FIELDS} }} }}"
ENTITIES = f"query($r: [_Any!]!) {{ _entities(representations: $r) {{ {FIELDS} }} }}"
USERS = "query($n: Int!) { users(first: $n) { edges { node { id email source } } } }"
SUBGRAPH = ServerSettings(federation=True)


async def _row(
    label: str,
    emulator: Emulator,
    sources: list[SourceSettings],
    query: str,
    variables: dict[str, Any],
    runs: int,
) -> tuple[Counter[str], Any]:
    cold_times: list[float] = []
    async with run_server(sources, CacheSettings(backend="none"), server=SUBGRAPH) as server:
        _, first_calls, cold = await timed_query(server, emulator, query, variables)
        calls = first_calls
        for _ in range(runs):
            elapsed, calls, cold = await timed_query(server, emulator, query, variables)
            cold_times.append(elapsed)
    warm_times: list[float] = []
    entities_only = CacheSettings(backend="memory", responses=False)  # every run executes
    async with run_server(sources, entities_only, server=SUBGRAPH) as server:
        await timed_query(server, emulator, query, variables)  # fills the cache
        for _ in range(runs):
            elapsed, warm_calls, warm = await timed_query(server, emulator, query, variables)
            require_warm(label, sum(warm_calls.values()))
            warm_times.append(elapsed)
    require_cold(label, sum(calls.values()))
    require_same(label, cold, warm)
    per_vendor = ", ".join(f"{vendor} {n}" for vendor, n in sorted(calls.items()))
    cold_ms, warm_ms = (statistics.median(times) * 1000 for times in (cold_times, warm_times))
    print(
        f"{label:>18}: cold {sum(calls.values())} vendor calls ({per_vendor}), median "
        f"{cold_ms:.0f} ms; warm 0 calls, median {warm_ms:.0f} ms; {runs} runs"
    )
    return calls, cold


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    args = parser.parse_args(argv)
    print(f"command: python -m bench.entities {' '.join(argv)}".rstrip())
    emulator = demo_emulator(users=120, latency_seconds=args.latency_ms / 1000)
    async with emulator:
        sources = demo_sources(emulator)
        async with run_server(sources, server=SUBGRAPH) as server:
            listed = await server.data(USERS, {"n": args.users})  # interleaved sources
        users = [edge["node"] for edge in listed["users"]["edges"]]
        ids = [user["id"] for user in users]
        spread = Counter(user["source"] for user in users)
        print(f"{len(users)} users: " + ", ".join(f"{s} {n}" for s, n in sorted(spread.items())))
        by_id = [{"__typename": "User", "id": node_id} for node_id in ids]
        by_email = [{"__typename": "User", "email": user["email"]} for user in users]
        nodes_calls, nodes = await _row(
            "nodes(ids:)", emulator, sources, NODES, {"ids": ids}, args.runs
        )
        entity_calls, entities = await _row(
            "_entities by id", emulator, sources, ENTITIES, {"r": by_id}, args.runs
        )
        await _row("_entities by email", emulator, sources, ENTITIES, {"r": by_email}, args.runs)
    if entities["_entities"] != nodes["nodes"] or entity_calls != nodes_calls:
        raise BenchError("_entities by id no longer answers and calls as nodes(ids:) does")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
