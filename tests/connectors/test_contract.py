"""One conformance suite over every connector, each against its own vendor's emulator.

Per-vendor tests cover what is special about a vendor; this suite checks what every
connector promises the graph (``connectors.base.Connector``): lists page to the end
without repeats, look-ups keep the keys asked for and leave unknown IDs out, the grouped
look-ups answer every key, and failures arrive as the right ``ConnectorError``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.base import Connector, ListQuery, Page
from connectors.errors import (
    ConnectorError,
    VendorAuthError,
    VendorBadResponse,
    VendorRateLimited,
    VendorUnavailable,
)
from connectors.model import Record
from connectors.sandbox import Emulator, World, demo_emulator
from connectors.settings import build_connector
from tests.harness import demo_sources

VENDORS = ("kombo", "absorb", "skilljar", "stackone")
Lister = Callable[[ListQuery, str | None, int], Awaitable[Page[Any]]]


@pytest.fixture(scope="module")
def emulator_factory() -> Callable[[], Emulator]:
    return lambda: demo_emulator(seed=3, users=30)


@pytest.fixture
async def emulator(emulator_factory: Callable[[], Emulator]) -> AsyncIterator[Emulator]:
    async with emulator_factory() as running:
        yield running


def world_of(emulator: Emulator, vendor: str) -> World:
    tenants: Any = getattr(emulator, f"{vendor}_tenants")
    world: World = tenants[0].world
    return world


async def open_connector(emulator: Emulator, vendor: str, **update: Any) -> Connector:
    (settings,) = [s for s in demo_sources(emulator, max_attempts=1) if s.kind == vendor]
    connector = build_connector(settings.model_copy(update=update))
    await connector.open()
    return connector


@pytest.fixture(params=VENDORS)
async def connector(request: pytest.FixtureRequest, emulator: Emulator) -> AsyncIterator[Connector]:
    opened = await open_connector(emulator, request.param)
    try:
        yield opened
    finally:
        await opened.close()


async def read_all(lister: Lister, size: int) -> list[Record]:
    records: list[Record] = []
    token: str | None = None
    for _ in range(1000):
        page = await lister(ListQuery(), token, size)
        records.extend(page.items)
        if page.next_token is None:
            return records
        assert page.next_token != token, "a next token must move forward"
        token = page.next_token
    raise AssertionError("list did not end")


@pytest.mark.parametrize("size", [7, 100])
async def test_lists_page_to_the_end_without_repeats(
    connector: Connector, emulator: Emulator, size: int
) -> None:
    world = world_of(emulator, connector.kind)
    users = await read_all(connector.list_users, size)
    courses = await read_all(connector.list_courses, size)
    ids = [user.id for user in users]
    assert len(ids) == len(set(ids))
    assert set(ids) <= {user.id for user in world.users}
    assert len(ids) >= len([u for u in world.users if u.deleted_at is None])
    assert {c.id for c in courses} == {c.id for c in world.courses if c.deleted_at is None}


async def test_look_ups_keep_keys_and_leave_unknown_ids_out(
    connector: Connector, emulator: Emulator
) -> None:
    world = world_of(emulator, connector.kind)
    wanted = [world.users[4].id, world.users[2].id, "unknown0000000000000000"]
    users = await connector.fetch_users(wanted)
    assert set(users) == set(wanted[:2])
    assert users[wanted[0]].email == world.users[4].email

    live = [c for c in world.courses if c.deleted_at is None]
    courses = await connector.fetch_courses([live[1].id, live[0].id])
    assert set(courses) == {live[1].id, live[0].id}


async def test_grouped_look_ups_answer_every_key(connector: Connector, emulator: Emulator) -> None:
    world = world_of(emulator, connector.kind)
    user_ids = [user.id for user in world.users[:6]]
    grouped = await connector.fetch_progressions_of_users([*user_ids, "unknown0000000000000000"])
    assert set(grouped) == {*user_ids, "unknown0000000000000000"}
    assert grouped["unknown0000000000000000"] == []
    for user_id in user_ids:
        assert all(p.user_id == user_id for p in grouped[user_id])
    assert any(grouped[user_id] for user_id in user_ids), "the world must have progressions"

    by_email = await connector.fetch_users_by_email([world.users[3].email.lower()])
    assert [u.id for u in by_email[world.users[3].email.lower()]] == [world.users[3].id]


async def test_progressions_found_by_id_again(connector: Connector, emulator: Emulator) -> None:
    world = world_of(emulator, connector.kind)
    grouped = await connector.fetch_progressions_of_users([u.id for u in world.users[:10]])
    some = [p for group in grouped.values() for p in group][:3]
    assert some
    again = await connector.fetch_progressions([p.id for p in some])
    assert {key: p.model_dump() for key, p in again.items()} == {p.id: p.model_dump() for p in some}


async def test_health_check_passes(connector: Connector) -> None:
    await connector.check_health()


@pytest.mark.parametrize("vendor", VENDORS)
async def test_wrong_key_is_an_auth_error_without_the_key(emulator: Emulator, vendor: str) -> None:
    connector = await open_connector(emulator, vendor, api_key=SecretStr("sk-wrong-4242"))
    try:
        with pytest.raises(VendorAuthError) as caught:
            await connector.check_health()
    finally:
        await connector.close()
    assert caught.value.code == "SOURCE_AUTH_FAILED"
    assert caught.value.source == f"{vendor}-demo"
    assert "sk-wrong-4242" not in str(caught.value)


FAULTS: dict[type[ConnectorError], dict[str, Any]] = {
    VendorRateLimited: {"status": 429, "headers": {"Retry-After": "600"}},
    VendorUnavailable: {"status": 502},
    VendorBadResponse: {"status": 200, "body": "{not json"},
}


@pytest.mark.parametrize("error", list(FAULTS), ids=lambda e: e.__name__)
async def test_vendor_failures_are_classified(
    connector: Connector, emulator: Emulator, error: type[ConnectorError]
) -> None:
    emulator.inject_fault(connector.kind, times=None, **FAULTS[error])
    with pytest.raises(error) as caught:
        await connector.list_users(ListQuery(), None, 10)
    assert caught.value.vendor == connector.kind
