"""AbsorbConnector against the Absorb emulator over loopback: the world, mapped by the rules."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.absorb import AbsorbConnector
from connectors.base import ListQuery, Page
from connectors.errors import VendorAuthError
from connectors.model import ProgressionResult, ProgressionStatus, Record, UserStatus
from connectors.sandbox import Emulator, World, generate_world
from connectors.sandbox.absorb import AbsorbTenant

WORLD = generate_world(3, users=40, courses=15, id_style="guid")
KEY, USERNAME, PASSWORD = "loopback-key", "loopback-admin", "loopback-password"
STATUS = {
    "ENROLLED": (ProgressionStatus.ENROLLED, None, "NotStarted"),
    "IN_PROGRESS": (ProgressionStatus.IN_PROGRESS, None, "InProgress"),
    "DROPPED": (ProgressionStatus.DROPPED, None, "NotComplete"),
}


def served_progressions(world: World) -> list[Any]:
    return [
        p
        for p in world.progressions
        if p.deleted_at is None and world.course(p.course_id).deleted_at is None
    ]


def expected_status(row: Any) -> tuple[Any, Any, str]:
    if row.status != "COMPLETED":
        return STATUS[row.status]
    if row.score is not None and row.score < 60:
        return ProgressionStatus.COMPLETED, ProgressionResult.FAIL, "Failed"
    return ProgressionStatus.COMPLETED, ProgressionResult.PASS, "Complete"


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(absorb_tenants=[AbsorbTenant(KEY, USERNAME, PASSWORD, WORLD)]) as running:
        yield running


def connector_for(emulator: Emulator, key: str = KEY) -> AbsorbConnector:
    return AbsorbConnector(
        name="absorb-loopback",
        base_url=emulator.vendor_base_url("absorb"),
        api_key=SecretStr(key),
        username=USERNAME,
        password=SecretStr(PASSWORD),
    )


@pytest.fixture
async def connector(emulator: Emulator) -> AsyncIterator[AbsorbConnector]:
    opened = connector_for(emulator)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


Lister = Callable[[ListQuery, str | None, int], Awaitable[Page[Any]]]


async def read_all(lister: Lister, size: int) -> list[Any]:
    records: list[Record] = []
    token: str | None = None
    for _ in range(500):
        page = await lister(ListQuery(), token, size)
        records += page.items
        if page.next_token is None:
            return records
        token = page.next_token
    raise AssertionError("list did not end")


@pytest.mark.parametrize("size", [7, 100])
async def test_lists_give_exactly_the_worlds_live_records(
    connector: AbsorbConnector, size: int
) -> None:
    users = await read_all(connector.list_users, size)
    assert [u.id for u in users] == [u.id for u in WORLD.users]
    for mapped, row in zip(users, WORLD.users, strict=True):
        assert (mapped.first_name, mapped.last_name, mapped.email) == (
            row.first_name,
            row.last_name,
            row.email,
        )
        assert mapped.status is UserStatus(row.status)
        assert (mapped.created_at, mapped.updated_at) == (row.created_at, row.changed_at)

    courses = await read_all(connector.list_courses, size)
    live = [c for c in WORLD.courses if c.deleted_at is None]
    assert [c.id for c in courses] == [c.id for c in live]
    for mapped, course in zip(courses, live, strict=True):
        newest = course.revisions[-1]
        assert (mapped.title, mapped.description) == (newest.title, newest.description)
        assert mapped.revisions_listed is False
        revision = mapped.revision(course.revisions[0].id)
        assert revision is not None
        assert revision.title == newest.title

    progressions = await read_all(connector.list_progressions, size)
    expected = {p.id: p for p in served_progressions(WORLD)}
    assert sorted(p.id for p in progressions) == sorted(expected)
    for mapped in progressions:
        row = expected[mapped.id]
        assert (mapped.user_id, mapped.course_id, mapped.revision_id) == (
            row.user_id,
            row.course_id,
            row.revision_id,
        )
        assert (mapped.status, mapped.result, mapped.source_status) == expected_status(row)
        assert (mapped.enrolled_at, mapped.completed_at, mapped.due_at, mapped.updated_at) == (
            row.enrolled_at,
            row.completed_at,
            row.due_at,
            row.changed_at,
        )
        assert mapped.progress_percent == (row.progress_percent or 0)
        assert mapped.score == row.score
        assert mapped.time_spent_seconds == (row.time_spent_seconds or 0)


async def test_updated_after_is_honoured_on_every_list(connector: AbsorbConnector) -> None:
    pivot = sorted(p.changed_at for p in WORLD.progressions)[len(WORLD.progressions) // 2]
    query = ListQuery(updated_after=pivot)
    users = await connector.list_users(query, None, 1000)
    assert [u.id for u in users.items] == [u.id for u in WORLD.users if u.changed_at > pivot]
    progressions: list[Any] = []
    token = None
    while True:
        page = await connector.list_progressions(query, token, 50)
        progressions += page.items
        if (token := page.next_token) is None:
            break
    assert sorted(p.id for p in progressions) == sorted(
        p.id for p in served_progressions(WORLD) if p.changed_at > pivot
    )


async def test_progressions_of_30_users_are_one_bulk_call(
    connector: AbsorbConnector, emulator: Emulator
) -> None:
    await connector.check_health()  # logged in
    emulator.clear_requests()
    user_ids = [u.id for u in WORLD.users[:30]]
    grouped = await connector.fetch_progressions_of_users(user_ids)
    assert emulator.count(vendor="absorb") == 1
    assert emulator.count(vendor="absorb", path="/bulk/studentcourses") == 1
    assert list(grouped) == user_ids
    for user_id in user_ids:
        assert [p.id for p in grouped[user_id]] == [
            p.id for p in served_progressions(WORLD) if p.user_id == user_id
        ]


async def test_look_ups_by_id_email_and_course(
    connector: AbsorbConnector, emulator: Emulator
) -> None:
    deleted = next(c for c in WORLD.courses if c.deleted_at)
    live = [c for c in WORLD.courses if c.deleted_at is None]
    courses = await connector.fetch_courses([live[2].id, deleted.id, live[0].id])
    assert list(courses) == [live[2].id, live[0].id]
    users = await connector.fetch_users([u.id for u in WORLD.users])
    assert list(users) == [u.id for u in WORLD.users]
    mixed = next(u for u in WORLD.users if u.email != u.email.lower())
    by_email = await connector.fetch_users_by_email([mixed.email.lower()])
    assert [u.id for u in by_email[mixed.email.lower()]] == [mixed.id]

    emulator.clear_requests()
    grouped = await connector.fetch_progressions_of_courses([live[0].id, deleted.id])
    assert [p.id for p in grouped[live[0].id]] == [
        p.id for p in served_progressions(WORLD) if p.course_id == live[0].id
    ]
    assert grouped[deleted.id] == []  # Absorb says 404: hard-deleted
    assert emulator.count(vendor="absorb") == 2

    some = [p.id for p in served_progressions(WORLD)[:4]]
    gone = next(p.id for p in WORLD.progressions if p.deleted_at)
    again = await connector.fetch_progressions([*some, gone])
    assert list(again) == some


async def test_a_newer_login_elsewhere_costs_exactly_one_re_login(
    connector: AbsorbConnector, emulator: Emulator
) -> None:
    await connector.check_health()
    other = connector_for(emulator)  # a second deployment with the same admin user
    await other.open()
    try:
        await other.check_health()  # its login invalidates our token
    finally:
        await other.close()
    emulator.clear_requests()
    page = await connector.list_users(ListQuery(), None, 5)
    assert len(page.items) == 5
    assert [(r.method, r.path, r.status) for r in emulator.requests] == [
        ("GET", "/users", 401),
        ("POST", "/authenticate", 200),
        ("GET", "/users", 200),
    ]


async def test_wrong_key_is_an_auth_error_after_one_login_attempt(emulator: Emulator) -> None:
    wrong = connector_for(emulator, "sk-wrong-4242")
    await wrong.open()
    try:
        with pytest.raises(VendorAuthError) as caught:
            await wrong.check_health()
    finally:
        await wrong.close()
    assert caught.value.code == "SOURCE_AUTH_FAILED"
    assert "sk-wrong-4242" not in str(caught.value)
    assert emulator.count(vendor="absorb") == 1
