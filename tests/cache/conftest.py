"""A real Redis per test session (flushed before each test), and emulator tenants whose
vendor IDs collide."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator

import pytest

from connectors.sandbox import Emulator, KomboTenant, World, generate_world
from tests.cache.helpers import RedisServer, redis_missing_reason

ACME_KEY = "acme-secret-kombo-key-7f3a"
GLOBEX_KEY = "globex-secret-kombo-key-91c2"
REDIS_PASSWORD = "redis-secret-password-5d1e"


@pytest.fixture(scope="session")
def redis_binary() -> None:
    """Skips the test when redis-server is missing here; under CI that is an error."""
    reason = redis_missing_reason()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def redis_session(redis_binary: None) -> Iterator[RedisServer]:
    """A password-protected Redis: the URL carries a credential that must never leak."""
    server = RedisServer(password=REDIS_PASSWORD)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_server(redis_session: RedisServer) -> RedisServer:
    """The session's Redis, emptied for this test."""
    client = redis_session.client()
    client.flushall()
    client.close()
    return redis_session


def renamed(world: World) -> World:
    """The same IDs with other names: what a second tenant of the same vendor may hold."""
    users = tuple(
        dataclasses.replace(user, first_name="Globex-" + user.first_name) for user in world.users
    )
    courses = tuple(
        dataclasses.replace(
            course,
            revisions=tuple(
                dataclasses.replace(revision, title="Globex " + revision.title)
                for revision in course.revisions
            ),
        )
        for course in world.courses
    )
    return dataclasses.replace(world, users=users, courses=courses)


@pytest.fixture
def acme() -> KomboTenant:
    return KomboTenant(ACME_KEY, "acme:42", generate_world(seed=7, users=30))


@pytest.fixture
def globex(acme: KomboTenant) -> KomboTenant:
    """Another Kombo integration whose vendor IDs are exactly acme's."""
    return KomboTenant(GLOBEX_KEY, "globex:9", renamed(acme.world))


@pytest.fixture
async def emulator(acme: KomboTenant, globex: KomboTenant) -> AsyncIterator[Emulator]:
    async with Emulator([acme, globex]) as running:
        yield running
