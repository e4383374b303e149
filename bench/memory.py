"""The memory cache's footprint: what an entry costs, and RSS bounded by ``max_bytes``.

First it measures, with ``tracemalloc``, the two constants the memory backend accounts
entries with (``resolvers/cache/stores.py``): the bytes one entry costs beyond its key and
value (``ENTRY_OVERHEAD_BYTES``), and the bytes of Python objects a decoded record takes
per byte of its JSON (``DECODED_BYTES_PER_JSON_BYTE``), on the canonical query's mix:
users pages, each page's users' progressions, and their courses, read through the real
cache and Kombo connector from the emulator. It prints what one entry of that mix costs
on average (``BYTES_PER_ENTRY`` in ``graph/config.py``, how a deprecated ``max_entries``
is read).

Then, for each ``--max-mib``, a fresh process fills a memory cache of that size with the
same mix, read under several source names (each its own tenant, so its own keys) from a
scaled world, until it has written several times ``max_bytes``, and prints its RSS above
the baseline at each fill level. The bench stops with an error when the cache was never
filled past its bound (it would show nothing) or when the accounted bytes exceed it.

    python -m bench.memory [--max-mib 16 64 128] [--users 3000]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import subprocess
import sys
import time
import tracemalloc
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from pydantic import SecretStr

from bench.checks import BenchError
from connectors._http import RetryPolicy
from connectors.base import ListQuery
from connectors.kombo import KomboConnector
from connectors.sandbox import Emulator, KomboTenant, generate_world
from graph.config import BYTES_PER_ENTRY
from resolvers.cache import CachedConnector, CachePolicy, MemoryStore
from resolvers.cache.stores import (
    ALLOCATOR_SLACK,
    DECODED_BYTES_PER_JSON_BYTE,
    ENTRY_OVERHEAD_BYTES,
)

POLICY = CachePolicy(ttl_seconds=3600, list_ttl_seconds=3600)
FILL_LEVELS = (0.5, 1.0, 2.0, 3.0, 4.0)


def rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise BenchError("no VmRSS in /proc/self/status (Linux only)")


@asynccontextmanager
async def kombo_world(users: int) -> AsyncIterator[tuple[Emulator, KomboTenant]]:
    tenant = KomboTenant("bench-key", "bench:memory", generate_world(seed=3, users=users))
    async with Emulator([tenant]) as emulator:
        yield emulator, tenant


def cached(
    emulator: Emulator, tenant: KomboTenant, store: MemoryStore, name: str
) -> CachedConnector:
    inner = KomboConnector(
        name=name,
        base_url=emulator.kombo_base_url,
        api_key=SecretStr(tenant.api_key),
        integration_id=tenant.integration_id,
        retry=RetryPolicy(max_attempts=1),
    )
    return CachedConnector(inner, store, POLICY)


async def read_mix(connector: CachedConnector, page: int = 50) -> AsyncIterator[None]:
    """The canonical query's reads, page by page: users, their progressions, their courses."""
    token: str | None = None
    while True:
        users = await connector.list_users(ListQuery(), token, page)
        groups = await connector.fetch_progressions_of_users([u.id for u in users.items])
        courses = {p.course_id for ps in groups.values() for p in ps if p.course_id}
        await connector.fetch_courses(sorted(courses))
        yield
        token = users.next_token
        if token is None:
            return


async def measure_constants(users: int) -> None:
    async with kombo_world(users) as (emulator, tenant):
        # Entries of bytes: keys and values shaped like the cache's, the rest is overhead.
        store = MemoryStore(max_bytes=2**40)
        count, payload = 20_000, 0
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for n in range(count):
            key = f"lms-graph:v1:bench:0123456789abcdef:entity:users:user{n:012d}"
            value = os.urandom(600 + n % 400)
            payload += len(key) + len(value)
            await store.set_many([(key, value)], None)
        gc.collect()
        overhead = (tracemalloc.get_traced_memory()[0] - before - payload) / count
        tracemalloc.stop()
        del store

        # Decoded records: the canonical mix through the real cache.
        store = MemoryStore(max_bytes=2**40)
        connector = cached(emulator, tenant, store, "bench")
        await connector.open()
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        async for _ in read_mix(connector):
            pass
        await connector.close()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        keys = store.backend.live_keys()
        entries = len(keys)
        key_bytes = sum(len(k) for k in keys)
        # The store accounts ceil(json * factor) + key + overhead per entry: recover the JSON.
        json_bytes = (store.bytes_held - key_bytes - entries * ENTRY_OVERHEAD_BYTES) / (
            DECODED_BYTES_PER_JSON_BYTE
        )
        factor = (grown - key_bytes - entries * overhead) / json_bytes
        per_entry = grown / entries
    slack = ALLOCATOR_SLACK
    print(
        f"traced: one entry beyond its key and value {overhead:.0f} bytes, x {slack} allocator "
        f"slack = {overhead * slack:.0f} (ENTRY_OVERHEAD_BYTES = {ENTRY_OVERHEAD_BYTES})"
    )
    print(
        f"traced: decoded records {factor:.2f} bytes per byte of JSON, x {slack} = "
        f"{factor * slack:.2f} (DECODED_BYTES_PER_JSON_BYTE = {DECODED_BYTES_PER_JSON_BYTE:.2f})"
    )
    print(
        f"{entries} entries of the canonical mix for {users} users: {json_bytes / entries:.0f} "
        f"bytes of JSON and {per_entry:.0f} traced bytes each, x {slack} = "
        f"{per_entry * slack:.0f} (BYTES_PER_ENTRY = {BYTES_PER_ENTRY})"
    )


class CountingStore(MemoryStore):
    """The memory store, counting the bytes written into it (as it accounts them)."""

    written = 0

    async def set_decoded(self, items: Sequence[tuple[str, bytes, Any]], ttl: int | None) -> None:
        for key, raw, _ in items:
            json = math.ceil(len(raw) * DECODED_BYTES_PER_JSON_BYTE)
            self.written += len(key) + json + ENTRY_OVERHEAD_BYTES
        await super().set_decoded(items, ttl)


class BytesStore(MemoryStore):
    """The memory store as it was: bytes only, so every hit is decoded (for comparison)."""

    async def set_decoded(self, items: Sequence[tuple[str, bytes, Any]], ttl: int | None) -> None:
        await self.set_many([(key, raw) for key, raw, _ in items], ttl)


async def warm_reads(users: int, passes: int = 5) -> None:
    """The canonical mix read warm from a memory store that keeps decoded records, and from
    one that keeps bytes: the pydantic decoding a hit no longer pays."""
    async with kombo_world(users) as (emulator, tenant):
        seconds: dict[str, float] = {}
        for label, store in (
            ("decoded", MemoryStore(max_bytes=2**40)),
            ("bytes", BytesStore(max_bytes=2**40)),
        ):
            connector = cached(emulator, tenant, store, "bench")
            await connector.open()
            async for _ in read_mix(connector):
                pass
            emulator.clear_requests()
            hits = connector.stats.hits
            started = time.process_time()
            for _ in range(passes):
                async for _ in read_mix(connector):
                    pass
            seconds[label] = (time.process_time() - started) / passes
            if emulator.requests:
                raise BenchError(
                    f"{label}: the warm reads made {len(emulator.requests)} vendor calls"
                )
            hits = (connector.stats.hits - hits) // passes
            await connector.close()
    saved = seconds["bytes"] - seconds["decoded"]
    print(
        f"warm canonical mix for {users} users ({hits} cache hits a pass, CPU mean of "
        f"{passes}): decoded records {seconds['decoded'] * 1000:.0f} ms, bytes decoded on "
        f"every hit {seconds['bytes'] * 1000:.0f} ms: {saved * 1000:.0f} ms saved, "
        f"{saved / hits * 1e6:.1f} us per hit"
    )


async def fill(max_mib: int, users: int) -> None:
    """One process: fill a cache of ``max_mib`` MiB and print RSS at each fill level."""
    max_bytes = max_mib * 2**20
    async with kombo_world(users) as (emulator, tenant):
        store = CountingStore(max_bytes=max_bytes)
        gc.collect()
        baseline = rss_bytes()
        levels, tenant_no, rows = list(FILL_LEVELS), 0, []
        while levels:
            tenant_no += 1
            connector = cached(emulator, tenant, store, f"tenant{tenant_no}")
            await connector.open()
            async for _ in read_mix(connector):
                if store.bytes_held > max_bytes:
                    raise BenchError(f"{store.bytes_held} bytes held above {max_bytes}")
                if levels and store.written >= levels[0] * max_bytes:
                    gc.collect()
                    above = rss_bytes() - baseline
                    rows.append(
                        f"  written {levels.pop(0):.1f} x max_bytes: held "
                        f"{store.bytes_held / max_bytes:6.1%} ({len(store.backend)} entries); "
                        f"RSS above baseline {above / 2**20:6.1f} MiB "
                        f"= max_bytes {(above - max_bytes) / 2**20:+.1f} MiB"
                    )
            await connector.close()
        if store.written < max_bytes:
            raise BenchError("the cache was never filled past max_bytes")
        print(
            f"max_bytes {max_mib} MiB ({tenant_no} tenants of {users} users read; "
            f"baseline RSS {baseline / 2**20:.0f} MiB):"
        )
        print("\n".join(rows))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-mib", type=int, nargs="+", default=[16, 64, 128])
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--fill", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fill is not None:
        asyncio.run(fill(args.fill, args.users))
        return
    print(f"command: python -m bench.memory {' '.join(argv)}".rstrip())
    asyncio.run(measure_constants(min(args.users, 2000)))
    asyncio.run(warm_reads(min(args.users, 2000)))
    for max_mib in args.max_mib:
        command = [sys.executable, "-m", "bench.memory", "--fill", str(max_mib)]
        subprocess.run([*command, "--users", str(args.users)], check=True)  # noqa: S603


if __name__ == "__main__":
    main(sys.argv[1:])
