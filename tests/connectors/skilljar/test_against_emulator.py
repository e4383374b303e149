"""SkilljarConnector against the Skilljar emulator over loopback: the world, mapped by the rules."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.base import ListQuery, Page
from connectors.errors import VendorAuthError
from connectors.model import (
    Progression,
    ProgressionResult,
    ProgressionStatus,
    Record,
    RevisionStatus,
    UserStatus,
)
from connectors.sandbox import Emulator, World, generate_world
from connectors.sandbox.records import WorldProgression
from connectors.sandbox.skilljar import SkilljarTenant
from connectors.skilljar import SkilljarConnector

# Seed 31 has a deleted course, deleted progressions, a deleted user and failed scores.
WORLD = generate_world(31, users=40, courses=12, id_style="lower36")
KEY, DOMAIN = "loopback-skilljar-key", "academy.loopback.example"
BOUND = 4

Lister = Callable[[ListQuery, str | None, int], Awaitable[Page[Any]]]


def served(world: World) -> list[WorldProgression]:
    return [
        p
        for p in world.progressions
        if p.deleted_at is None and world.course(p.course_id).deleted_at is None
    ]


def expected(row: WorldProgression) -> tuple[Any, ...]:
    """(status, result, source_status, progress_percent, score) by the encoding rules."""
    if row.status == "COMPLETED":
        failed = row.score is not None and row.score < 60
        result = ProgressionResult.FAIL if failed else ProgressionResult.PASS
        score = None if row.score is None else float(round(row.score))
        return ProgressionStatus.COMPLETED, result, "completed", 100.0, score
    percent = row.progress_percent
    if row.status == "IN_PROGRESS":
        lessons = max(1, min(9, round((50 if percent is None else percent) / 10)))
        return ProgressionStatus.IN_PROGRESS, None, "in_progress", lessons * 10.0, None
    if row.status == "DROPPED":
        lessons = max(0, min(9, round((percent or 0) / 10)))
        return ProgressionStatus.DROPPED, None, "inactive", lessons * 10.0, None
    return ProgressionStatus.ENROLLED, None, "enrolled", 0.0, None


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with Emulator(skilljar_tenants=[SkilljarTenant(KEY, DOMAIN, WORLD)]) as running:
        yield running


def connector_for(emulator: Emulator, key: str = KEY) -> SkilljarConnector:
    return SkilljarConnector(
        name="skilljar-loopback",
        base_url=emulator.vendor_base_url("skilljar"),
        api_key=SecretStr(key),
        domain=DOMAIN,
        max_concurrency=BOUND,
    )


@pytest.fixture
async def connector(emulator: Emulator) -> AsyncIterator[SkilljarConnector]:
    opened = connector_for(emulator)
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


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


def check_progression(mapped: Progression, row: WorldProgression) -> None:
    assert mapped.id == f"{row.user_id}:{row.revision_id}"
    assert (mapped.user_id, mapped.course_id, mapped.revision_id) == (
        row.user_id,
        row.course_id,
        row.revision_id,
    )
    status, result, source_status, percent, score = expected(row)
    assert (mapped.status, mapped.result, mapped.source_status) == (status, result, source_status)
    assert (mapped.progress_percent, mapped.score) == (percent, score)
    assert (mapped.enrolled_at, mapped.completed_at, mapped.updated_at) == (
        row.enrolled_at,
        row.completed_at,
        row.changed_at,
    )


@pytest.mark.parametrize("size", [7, 100])
async def test_lists_give_exactly_the_worlds_live_records(
    connector: SkilljarConnector, size: int
) -> None:
    users = await read_all(connector.list_users, size)
    assert [u.id for u in users] == [u.id for u in WORLD.users]  # no tombstones: all of them
    for mapped, row in zip(users, WORLD.users, strict=True):
        assert (mapped.first_name, mapped.last_name, mapped.email) == (
            row.first_name,
            row.last_name,
            row.email,
        )
        assert mapped.status is UserStatus(row.status)
        assert (mapped.created_at, mapped.updated_at) == (row.created_at, row.changed_at)
        assert mapped.deleted_at is None

    courses = await read_all(connector.list_courses, size)
    live = [c for c in WORLD.courses if c.deleted_at is None]
    assert [c.id for c in courses] == [c.id for c in live]
    for mapped, course in zip(courses, live, strict=True):
        newest = course.revisions[-1]
        assert (mapped.title, mapped.description) == (newest.title, newest.description)
        assert (mapped.created_at, mapped.updated_at) == (course.created_at, course.changed_at)
        assert [r.id for r in mapped.revisions] == [r.id for r in course.revisions]
        for revision, world_revision in zip(mapped.revisions, course.revisions, strict=True):
            assert (revision.course_id, revision.title, revision.url) == (
                course.id,
                newest.title,
                world_revision.url,
            )
            assert revision.status is RevisionStatus(world_revision.status)

    progressions = await read_all(connector.list_progressions, size)
    rows = {f"{p.user_id}:{p.revision_id}": p for p in served(WORLD)}
    assert len(rows) == len(served(WORLD))  # the key is unique in this world
    assert sorted(p.id for p in progressions) == sorted(rows)
    for mapped in progressions:
        check_progression(mapped, rows[mapped.id])


async def test_progressions_of_30_users_cost_one_call_each(
    connector: SkilljarConnector, emulator: Emulator
) -> None:
    users = [u.id for u in WORLD.users[:30]]
    emulator.clear_requests()
    grouped = await connector.fetch_progressions_of_users(users)
    assert emulator.count(vendor="skilljar") == 30
    assert all(r.path.endswith("/published-courses") for r in emulator.requests)
    rows = served(WORLD)
    for user_id in users:
        mine = [p for p in rows if p.user_id == user_id]
        assert [p.revision_id for p in grouped[user_id]] == [p.revision_id for p in mine]
        for mapped, row in zip(grouped[user_id], mine, strict=True):
            check_progression(mapped, row)


async def test_a_progressions_page_costs_one_users_page_and_one_call_per_user(
    connector: SkilljarConnector, emulator: Emulator
) -> None:
    emulator.clear_requests()
    page = await connector.list_progressions(ListQuery(), None, 10)
    assert emulator.count(vendor="skilljar", path="/v1/users") == 1
    assert emulator.count(vendor="skilljar") == 11
    assert page.total_count is None
    assert page.next_token is not None


async def test_progressions_of_courses_and_by_key(
    connector: SkilljarConnector, emulator: Emulator
) -> None:
    live = [c for c in WORLD.courses if c.deleted_at is None]
    wanted = [live[0].id, live[3].id, "nosuchcourse"]
    emulator.clear_requests()
    grouped = await connector.fetch_progressions_of_courses(wanted)
    rows = served(WORLD)
    for course_id in wanted:
        mine = {f"{p.user_id}:{p.revision_id}" for p in rows if p.course_id == course_id}
        assert {p.id for p in grouped[course_id]} == mine
    revisions = len(live[0].revisions) + len(live[3].revisions)
    learners = {p.user_id for p in rows if p.course_id in wanted}
    assert emulator.count(vendor="skilljar") == 3 + revisions + len(learners)

    some = [p for group in grouped.values() for p in group][:5]
    again = await connector.fetch_progressions([p.id for p in some])
    assert {key: p.model_dump() for key, p in again.items()} == {p.id: p.model_dump() for p in some}


async def test_look_ups_by_id_and_email(connector: SkilljarConnector) -> None:
    deleted = next(u for u in WORLD.users if u.deleted_at is not None)
    users = await connector.fetch_users([WORLD.users[3].id, deleted.id, "nosuchuser"])
    assert set(users) == {WORLD.users[3].id, deleted.id}
    assert users[deleted.id].status is UserStatus.INACTIVE

    gone = next(c for c in WORLD.courses if c.deleted_at is not None)
    live = next(c for c in WORLD.courses if c.deleted_at is None)
    courses = await connector.fetch_courses([live.id, gone.id])
    assert list(courses) == [live.id]
    assert [r.id for r in courses[live.id].revisions] == [r.id for r in live.revisions]

    email = WORLD.users[5].email.lower()
    assert [u.id for u in (await connector.fetch_users_by_email([email]))[email]] == [
        WORLD.users[5].id
    ]


async def test_a_wrong_key_is_an_auth_error_without_the_key(emulator: Emulator) -> None:
    connector = connector_for(emulator, key="sk-wrong-4242")
    await connector.open()
    try:
        with pytest.raises(VendorAuthError) as caught:
            await connector.check_health()
    finally:
        await connector.close()
    assert caught.value.vendor_code == "authentication_failed"
    assert "sk-wrong-4242" not in str(caught.value)
