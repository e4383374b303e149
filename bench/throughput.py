"""Throughput: requests per second and latency of real ``lms-graph serve`` processes under
a bounded loopback load, at 1, 4 and 16 clients, 1 and 2 workers, response cache on and off.

Each server is the CLI's process tree (``lms-graph serve --workers N`` with a config file:
the embedded demo, its emulator in the parent process) with the entity cache warm: every
worker is sent each query until it answers with no vendor call, so the timed runs measure
the server, not the vendors. Each client is an aiohttp session holding one keep-alive
connection and sending requests back to back for ``--seconds``. Connections are spread
evenly over the workers (as a round-robin proxy in front would; the kernel's own accept
order can put most keep-alive connections on one worker): each is asked ``/readyz`` which
instance it reached. Servers are measured in turn, ``--rounds`` times, and medians printed.

The entity cache is the memory backend by default: warm in each worker, so one and two
workers do the same work per request and the ratio measures processes, not cache backends
(Redis adds a network round trip per entry read that one in-process worker does not pay).
``--cache redis`` runs every server on a Redis of its own instead (the workers share it).

It stops with an error (:mod:`bench.checks`) when a timed run made a vendor call, when an
answer differs from the first one (cursors aside), or when a run with at least as many
clients as workers was not served by every worker.

    python -m bench.throughput [--seconds 3] [--rounds 3] [--clients 1 4 16]
        [--workers 1 2] [--cache memory|redis] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bench.checks import BenchError, require_same, require_warm
from graph.config import CacheSettings
from tests.cache.helpers import RedisServer, free_port
from tests.harness import CANONICAL_QUERY
from tests.processes import ServeProcess, demo_config_text, serve_process

QUERIES: dict[str, tuple[str, dict[str, Any]]] = {
    "canonical": (CANONICAL_QUERY, {"first": 50}),
    "small": ('{ users(first: 1, source: "kombo-demo") { edges { node { id firstName } } } }', {}),
}
#: Whether this build has the response cache's switch (``[cache] responses``).
RESPONSE_CACHE = "responses" in CacheSettings.model_fields


@dataclass(frozen=True)
class Setup:
    workers: int
    responses: bool | None  # None: this build has no response cache to switch

    @property
    def label(self) -> str:
        cache = {None: "n/a", True: "on", False: "off"}[self.responses]
        return f"{self.workers} worker{'s' if self.workers > 1 else ' '}, response cache {cache:>3}"


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    per_worker: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # of the server's processes
    client_cpu_seconds: float = 0.0  # of this load generator, which shares the machine

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / len(self.latencies)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def p(self, percent: int) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


def _cpu_seconds(server: ServeProcess) -> float:
    """User + system CPU of the server's serving processes (the workers, or the one
    process without ``--workers``), from ``/proc``: on a shared machine, throughput
    follows the cores left free, CPU per request does not."""
    pids = server.worker_pids() or [server.process.pid]
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Client:
    instance: str
    session: aiohttp.ClientSession


def _cache_toml(cache: str, redis: RedisServer | None, responses: bool | None) -> str:
    lines = [f'backend = "{cache}"', "ttl_seconds = 3600"]
    if redis is not None:
        lines.append(f'url = "{redis.url}"')
    if responses is not None:
        lines.append(f"responses = {'true' if responses else 'false'}")
    # Lists are cached 30 s at most unless told: the whole bench must stay warm.
    lines += ["", "[cache.ttl]", "lists = 3600"]
    return "\n".join(lines)


@asynccontextmanager
async def _server(
    setup: Setup, cache: str, latency_ms: float, folder: Path
) -> AsyncIterator[ServeProcess]:
    async with AsyncExitStack() as stack:
        redis = None
        if cache == "redis":
            redis = RedisServer()
            redis.start()
            stack.callback(redis.stop)
        port = free_port()
        text = demo_config_text(
            port, _cache_toml(cache, redis, setup.responses), latency_ms=latency_ms
        )
        path = folder / f"{setup.workers}-{setup.responses}.toml"
        server = await stack.enter_async_context(
            serve_process(text, path, workers=setup.workers, emulator_port=port)
        )
        yield server


async def _post(session: aiohttp.ClientSession, base: str, name: str) -> bytes:
    query, variables = QUERIES[name]
    payload = {"query": query, "variables": variables}
    async with session.post(base + "/graphql", json=payload) as response:
        body = await response.read()
        if response.status != 200:
            raise BenchError(f"{name}: HTTP {response.status}: {body[:200]!r}")
        return body


def _data(name: str, body: bytes) -> Any:
    answer = json.loads(body)
    if "errors" in answer:
        raise BenchError(f"{name}: the server answered errors: {answer['errors']}")
    return answer["data"]


async def _warm(server: ServeProcess, workers: int, reference: dict[str, Any]) -> None:
    """Every query through every worker until one round makes no vendor call."""
    pinned = await server.pinned(workers)
    for _ in range(5):
        await server.clear_vendor_requests()
        for worker in pinned:
            for name in QUERIES:
                data = _data(name, await _post(worker.session, server.base, name))
                require_same(name, reference.setdefault(name, data), data)
        if not await server.vendor_requests():
            break
    else:
        raise BenchError("the entity cache did not get warm in five rounds")
    await server.close_pinned()


async def _clients(server: ServeProcess, clients: int, workers: int) -> list[Client]:
    """``clients`` sessions on keep-alive connections spread evenly over the workers."""
    share = -(-clients // workers)  # ceiling
    chosen: list[Client] = []
    spare: list[aiohttp.ClientSession] = []
    try:
        for _ in range(50 * clients):
            if len(chosen) == clients:
                break
            session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
            async with session.get(server.base + "/readyz") as response:
                instance = (await response.json())["instance"]
            if sum(c.instance == instance for c in chosen) < share:
                chosen.append(Client(instance, session))
            else:
                spare.append(session)  # held open, so the next connection goes elsewhere
    finally:
        for session in spare:
            await session.close()
    if len(chosen) != clients:
        for client in chosen:
            await client.session.close()
        raise BenchError(f"could not spread {clients} connections over {workers} workers")
    return chosen


async def _measure(
    server: ServeProcess, setup: Setup, name: str, clients: int, seconds: float, size: int
) -> Run:
    connected = await _clients(server, clients, setup.workers)
    run = Run()
    label = f"{name}, {setup.label}, {clients} clients"

    async def client(each: Client, stop_at: float) -> None:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            body = await _post(each.session, server.base, name)
            run.latencies.append(time.perf_counter() - started)
            run.per_worker[each.instance] += 1
            # A cheap check of every answer (parsing each would load the client's CPU);
            # the size of an answer never varies by more than its cursors' digits.
            if b'"errors"' in body or abs(len(body) - size) > max(64, size // 100):
                raise BenchError(f"{label}: an answer of {len(body)} bytes, not ~{size}")

    try:
        await server.clear_vendor_requests()
        cpu, client_cpu = _cpu_seconds(server), time.process_time()
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(*(client(each, stop_at) for each in connected))
        run.seconds = time.perf_counter() - started
        run.cpu_seconds = _cpu_seconds(server) - cpu
        run.client_cpu_seconds = time.process_time() - client_cpu
    finally:
        for each in connected:
            await each.session.close()
    require_warm(label, len(await server.vendor_requests()))
    if clients >= setup.workers and len(run.per_worker) < setup.workers:
        raise BenchError(f"{label}: only {len(run.per_worker)} of {setup.workers} workers served")
    return run


def _setups(workers: list[int]) -> list[Setup]:
    responses: list[bool | None] = [False, True] if RESPONSE_CACHE else [None]
    return [Setup(w, r) for r in responses for w in workers]


def _print_row(setup: Setup, name: str, clients: int, runs: list[Run]) -> None:
    rate = statistics.median(r.rate for r in runs)
    p50 = statistics.median(r.p(50) for r in runs) * 1000
    p99 = statistics.median(r.p(99) for r in runs) * 1000
    cpu = statistics.median(r.cpu_ms_per_request for r in runs)
    cores = statistics.median(r.cpu_seconds / r.seconds for r in runs)
    client = statistics.median(r.client_cpu_seconds / r.seconds for r in runs)
    shares = Counter[str]()
    for run in runs:
        shares.update(run.per_worker)
    total = sum(shares.values())
    split = "/".join(f"{100 * n / total:.0f}" for _, n in sorted(shares.items()))
    print(
        f"{name:>9} | {setup.label} | {clients:>2} clients | {rate:8.1f} req/s | "
        f"p50 {p50:8.2f} ms | p99 {p99:8.2f} ms | CPU {cpu:7.2f} ms/req, {cores:4.2f} cores "
        f"(client {client:4.2f}) | "
        f"{total:>6} requests, % per worker {split}"
    )


async def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per run (default 3)")
    parser.add_argument("--rounds", type=int, default=3, help="runs per cell (median)")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cache", choices=["memory", "redis"], default="memory")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="emulator, per call")
    args = parser.parse_args(argv)
    print(f"command: python -m bench.throughput {' '.join(argv)}".rstrip())
    print(
        f"entity cache {args.cache}, warm; {args.seconds:g} s per run, median of "
        f"{args.rounds} rounds; canonical = CANONICAL_QUERY first 50, small = 1 user"
    )
    if not RESPONSE_CACHE:
        print(
            "response cache axis skipped: this build has no [cache] responses setting "
            "(the response cache has not landed); every row runs without one"
        )
    print(f"load average before: {_load()} ({os.cpu_count()} cores)")
    setups = _setups(args.workers)
    results: dict[tuple[Setup, str, int], list[Run]] = {}
    reference: dict[str, Any] = {}
    sizes: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as folder:
        async with AsyncExitStack() as stack:
            servers = {}
            for setup in setups:
                server = await stack.enter_async_context(
                    _server(setup, args.cache, args.latency_ms, Path(folder))
                )
                await _warm(server, setup.workers, reference)
                servers[setup] = server
            async with aiohttp.ClientSession() as session:
                for name in QUERIES:
                    sizes[name] = len(await _post(session, servers[setups[0]].base, name))
            for _ in range(args.rounds):
                for setup, server in servers.items():
                    for name in QUERIES:
                        for clients in args.clients:
                            run = await _measure(
                                server, setup, name, clients, args.seconds, sizes[name]
                            )
                            results.setdefault((setup, name, clients), []).append(run)
    for name in QUERIES:
        for setup in setups:
            for clients in args.clients:
                _print_row(setup, name, clients, results[(setup, name, clients)])
    _print_ratios(setups, results, args.clients)
    print(
        f"load average after: {_load()}; workers scale only onto cores left free "
        '("cores": the server\'s CPU seconds per second of the run; "client": this load '
        "generator's, on the same cores)"
    )


def _load() -> str:
    return ", ".join(f"{load:.1f}" for load in os.getloadavg())


def _print_ratios(
    setups: list[Setup], results: dict[tuple[Setup, str, int], list[Run]], clients: list[int]
) -> None:
    """Two workers against one on the response-cache miss path (the issue's target)."""
    by_workers = {s.workers: s for s in setups if s.responses in (False, None)}
    if 1 not in by_workers or 2 not in by_workers:
        return
    for name in QUERIES:
        for count in clients:
            one = statistics.median(r.rate for r in results[(by_workers[1], name, count)])
            two = statistics.median(r.rate for r in results[(by_workers[2], name, count)])
            print(
                f"2 workers / 1 worker, response cache miss, {name}, {count} clients: "
                f"{two / one:.2f}x (target at least 1.7x)"
            )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
