"""Fixtures for the sandbox tests: the demo world, a running emulator, a Kombo GET helper."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

import aiohttp
import pytest

from connectors.sandbox import (
    DEMO_KOMBO_API_KEY,
    DEMO_KOMBO_INTEGRATION_ID,
    Emulator,
    KomboTenant,
    demo_tenants,
)
from tests.demo_fixtures import control  # noqa: F401  (on the emulator of the test using it)

KOMBO_HEADERS = {
    "Authorization": f"Bearer {DEMO_KOMBO_API_KEY}",
    "X-Integration-Id": DEMO_KOMBO_INTEGRATION_ID,
}

KomboGet = Callable[..., Awaitable[tuple[int, Any]]]


@pytest.fixture(scope="session")
def tenants() -> list[KomboTenant]:
    return demo_tenants()


@pytest.fixture
async def emulator(tenants: list[KomboTenant]) -> AsyncIterator[Emulator]:
    async with Emulator(tenants) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def kombo(emulator: Emulator, http: aiohttp.ClientSession) -> KomboGet:
    """``await kombo(path, params, headers=...)`` -> (status, parsed JSON body)."""

    async def get(
        path: str,
        params: Mapping[str, str] | None = None,
        *,
        headers: Mapping[str, str] = KOMBO_HEADERS,
    ) -> tuple[int, Any]:
        url = emulator.kombo_base_url + path
        async with http.get(url, params=params or {}, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    return get
