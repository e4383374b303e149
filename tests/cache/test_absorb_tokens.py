"""Absorb's token shared through Redis: two connectors with their own Redis clients (what
two processes have) against the Absorb emulator, which keeps one live token per user."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from connectors.absorb import AbsorbConnector
from connectors.absorb.tokens import REDIS_KEY_PREFIX, RedisTokenStore, TokenAccount, TokenStore
from connectors.base import ListQuery
from connectors.sandbox import Emulator, generate_world
from connectors.sandbox.absorb import AbsorbTenant
from tests.cache.conftest import REDIS_PASSWORD
from tests.cache.helpers import RedisServer, free_port

KEY, USERNAME, PASSWORD = "absorb-portal-key-31f9", "token-admin", "absorb-admin-password-8c2e"
WORLD = generate_world(5, users=12, courses=4, id_style="guid")


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(absorb_tenants=[AbsorbTenant(KEY, USERNAME, PASSWORD, WORLD)]) as running:
        yield running


def connector(emulator: Emulator, store: TokenStore | None) -> AbsorbConnector:
    return AbsorbConnector(
        name="absorb",
        base_url=emulator.vendor_base_url("absorb"),
        api_key=SecretStr(KEY),
        username=USERNAME,
        password=SecretStr(PASSWORD),
        token_store=store,
    )


def logins(emulator: Emulator) -> int:
    return emulator.count("absorb", "/authenticate")


async def read_from_both(first: AbsorbConnector, second: AbsorbConnector, times: int) -> None:
    """``times`` reads through each connector, all at once."""
    reads = [c.list_users(ListQuery(), None, 5) for _ in range(times) for c in (first, second)]
    pages = await asyncio.gather(*reads)
    assert all(len(page.items) == 5 for page in pages)


@pytest.fixture
async def pair(
    emulator: Emulator, redis_server: RedisServer
) -> AsyncIterator[tuple[AbsorbConnector, AbsorbConnector]]:
    stores = [RedisTokenStore.from_url(redis_server.url, "test redis") for _ in range(2)]
    first, second = (connector(emulator, store) for store in stores)
    for each in (first, second):
        await each.open()
    yield first, second
    for each in (first, second):
        await each.close()
    for store in stores:
        await store.close()


async def test_two_processes_log_in_once_and_once_again_after_expiry(
    emulator: Emulator, pair: tuple[AbsorbConnector, AbsorbConnector]
) -> None:
    first, second = pair
    await read_from_both(first, second, times=5)
    assert logins(emulator) == 1
    assert emulator.count("absorb") == 1 + 10  # no 401, no retry: both used the one token

    assert emulator.expire_absorb_tokens() == 1
    await read_from_both(first, second, times=5)
    # Each connector met a 401 at most once; the second read the renewed token from Redis.
    assert logins(emulator) == 2
    await read_from_both(first, second, times=2)
    assert logins(emulator) == 2


async def test_without_a_shared_store_each_process_logs_in_and_evicts_the_other(
    emulator: Emulator,
) -> None:
    """What the shared store prevents (the emulator, like Absorb, keeps one token)."""
    first, second = connector(emulator, None), connector(emulator, None)
    for each in (first, second):
        await each.open()
    try:
        await first.list_users(ListQuery(), None, 5)
        await second.list_users(ListQuery(), None, 5)
        await first.list_users(ListQuery(), None, 5)
    finally:
        for each in (first, second):
            await each.close()
    assert logins(emulator) == 3


async def test_the_shared_token_is_encrypted_under_a_digest_and_expires_before_the_token(
    emulator: Emulator, pair: tuple[AbsorbConnector, AbsorbConnector], redis_server: RedisServer
) -> None:
    first, _ = pair
    await first.list_users(ListQuery(), None, 1)
    token = next(iter(emulator._absorb_portals.live))  # type: ignore[union-attr]
    client = redis_server.client()
    try:
        (key,) = client.keys("*")
        value = client.get(key)
        ttl = client.ttl(key)
    finally:
        client.close()
    account = TokenAccount(
        emulator.vendor_base_url("absorb"), USERNAME, SecretStr(KEY), SecretStr(PASSWORD)
    )
    assert key.decode() == REDIS_KEY_PREFIX + account.digest
    for secret in (token, KEY, PASSWORD, USERNAME):
        assert secret.encode() not in key
        assert secret.encode() not in value
    assert account.cipher().decrypt(value).decode() == token
    assert 4 * 3600 - 5 * 60 - 5 < ttl <= 4 * 3600 - 5 * 60


async def test_another_password_cannot_read_the_shared_token(
    emulator: Emulator, pair: tuple[AbsorbConnector, AbsorbConnector], redis_server: RedisServer
) -> None:
    first, _ = pair
    await first.list_users(ListQuery(), None, 1)
    store = RedisTokenStore.from_url(redis_server.url, "test redis")
    base_url = emulator.vendor_base_url("absorb")
    try:
        right = TokenAccount(base_url, USERNAME, SecretStr(KEY), SecretStr(PASSWORD))
        wrong = TokenAccount(base_url, USERNAME, SecretStr(KEY), SecretStr("guessed"))
        assert await store.read(right) is not None
        assert await store.read(wrong) is None
    finally:
        await store.close()


async def test_an_unreachable_redis_logs_in_alone_with_one_warning(
    emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"redis://:{REDIS_PASSWORD}@127.0.0.1:{free_port()}/0"  # nothing listens there
    store = RedisTokenStore.from_url(url, "redis://127.0.0.1/0", timeout=0.5)
    absorb = connector(emulator, store)
    await absorb.open()
    try:
        with caplog.at_level(logging.WARNING, logger="lms_graph.absorb"):
            for _ in range(3):
                page = await absorb.list_users(ListQuery(), None, 2)
                assert len(page.items) == 2
    finally:
        await absorb.close()
        await store.close()
    assert logins(emulator) == 1
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "Absorb token store redis://127.0.0.1/0 failed (ConnectionError)" in warnings[0]
    assert REDIS_PASSWORD not in caplog.text
