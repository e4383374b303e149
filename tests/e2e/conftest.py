"""The four-vendor demo emulator and a server reading all of its sources."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from connectors.sandbox import Emulator, World, demo_emulator
from tests.harness import CACHES, DEMO_SOURCES, GraphQLServer, demo_sources, run_server


@pytest.fixture
async def everywhere() -> AsyncIterator[Emulator]:
    async with demo_emulator(seed=7, users=60) as running:
        yield running


@pytest.fixture
async def federated(everywhere: Emulator) -> AsyncIterator[GraphQLServer]:
    async with run_server(demo_sources(everywhere, max_attempts=1)) as running:
        yield running


@pytest.fixture
async def federated_counted(everywhere: Emulator, cache_mode: str) -> AsyncIterator[GraphQLServer]:
    """``federated`` with the cache off, then with the memory cache, for call counts."""
    async with run_server(demo_sources(everywhere, max_attempts=1), CACHES[cache_mode]) as running:
        yield running


def worlds(emulator: Emulator) -> dict[str, World]:
    """Each demo source's world, by source name."""
    return {
        DEMO_SOURCES["kombo"]: emulator.kombo_tenants[0].world,
        DEMO_SOURCES["absorb"]: emulator.absorb_tenants[0].world,
        DEMO_SOURCES["skilljar"]: emulator.skilljar_tenants[0].world,
        DEMO_SOURCES["stackone"]: emulator.stackone_tenants[0].world,
    }
