from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from connectors.sandbox import Emulator, KomboTenant, demo_tenants, generate_world
from tests.harness import CACHES, GraphQLServer, kombo_source, run_server


@pytest.fixture
def tenant() -> KomboTenant:
    (demo,) = demo_tenants(seed=7, users=120)
    return demo


@pytest.fixture
async def emulator(tenant: KomboTenant) -> AsyncIterator[Emulator]:
    second = KomboTenant(
        api_key="second-kombo-key",
        integration_id="demo:globex",
        world=generate_world(seed=11, users=45),
    )
    async with Emulator([tenant, second]) as running:
        yield running


@pytest.fixture
def second_tenant(emulator: Emulator) -> KomboTenant:
    return emulator.kombo_tenants[1]


@pytest.fixture
async def server(emulator: Emulator, tenant: KomboTenant) -> AsyncIterator[GraphQLServer]:
    async with run_server([kombo_source("acme", emulator, tenant)]) as running:
        yield running


@pytest.fixture(params=sorted(CACHES))
def cache_mode(request: pytest.FixtureRequest) -> str:
    """ "off" or "memory": a test taking it runs once per mode and pins the counts of each."""
    mode: str = request.param
    return mode


@pytest.fixture
async def counted_server(
    emulator: Emulator, tenant: KomboTenant, cache_mode: str
) -> AsyncIterator[GraphQLServer]:
    """The ``server`` with the cache off, then with the memory cache, for call counts."""
    source = kombo_source("acme", emulator, tenant)
    async with run_server([source], CACHES[cache_mode]) as running:
        yield running
