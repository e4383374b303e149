"""StackOneConnector against the StackOne emulator over loopback: the world, mapped as documented.

Expectations are restated from the encoding rules in ``connectors.sandbox.stackone``'s
docstring and the progression model in ``connectors.stackone.client``'s, straight from
the world, not through either implementation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest
from pydantic import SecretStr

from connectors._http import RetryPolicy
from connectors.base import ListQuery, Page
from connectors.errors import VendorAuthError, VendorRateLimited
from connectors.model import Provider, Record
from connectors.sandbox import Emulator, World, generate_world
from connectors.sandbox.stackone import StackOneTenant
from connectors.stackone import StackOneConnector

KEY = "sk-loopback"
ACCOUNT = "acct-loopback"
DISABLED = "acct-disabled"
SOURCE = "stackone-loop"
ASSIGNED = {"ENROLLED": "pending", "IN_PROGRESS": "in_progress", "COMPLETED": "completed"}
FIELDS = [
    "id",
    "user_id",
    "course_id",
    "revision_id",
    "status",
    "source_status",
    "enrolled_at",
    "due_at",
    "completed_at",
    "progress_percent",
    "score",
    "result",
    "time_spent_seconds",
    "updated_at",
]

Lister = Callable[[ListQuery, str | None, int], Awaitable[Page[Any]]]


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(2, users=60, courses=25, id_style="base58")


@pytest.fixture
async def emulator(world: World) -> AsyncIterator[Emulator]:
    tenants = [
        StackOneTenant(KEY, ACCOUNT, world),
        StackOneTenant(KEY, DISABLED, world, disabled=True),
    ]
    async with Emulator(stackone_tenants=tenants) as running:
        yield running


def connector_for(emulator: Emulator, key: str = KEY, account: str = ACCOUNT) -> StackOneConnector:
    return StackOneConnector(
        name=SOURCE,
        base_url=emulator.vendor_base_url("stackone"),
        api_key=SecretStr(key),
        account_id=account,
        max_concurrency=4,
        retry=RetryPolicy(max_attempts=1),
    )


@pytest.fixture
async def stackone(emulator: Emulator) -> AsyncIterator[StackOneConnector]:
    connector = connector_for(emulator)
    await connector.open()
    try:
        yield connector
    finally:
        await connector.close()


async def read_all(lister: Lister, size: int, query: ListQuery | None = None) -> list[Any]:
    records: list[Record] = []
    token: str | None = None
    for _ in range(1000):
        page = await lister(query or ListQuery(), token, size)
        records.extend(page.items)
        if page.next_token is None:
            return records
        token = page.next_token
    raise AssertionError("list did not end")


def content_completions(world: World) -> set[str]:
    """The rule: every 5th COMPLETED world progression has a completion on content only."""
    return set([p.id for p in world.progressions if p.status == "COMPLETED"][4::5])


def failed(score: float | None) -> bool:
    return score is not None and score < 60


def expected_progressions(world: World) -> dict[str, list[dict[str, Any]]]:
    """Each user's progressions: assignments' pairs in world order, then completion-only."""
    on_content = content_completions(world)
    grouped: dict[str, list[dict[str, Any]]] = {u.id: [] for u in world.users}
    later: dict[str, list[dict[str, Any]]] = {u.id: [] for u in world.users}
    for p in world.progressions:
        if p.deleted_at or world.course(p.course_id).deleted_at or p.status == "DROPPED":
            continue
        content = p.id in on_content
        done = p.status == "COMPLETED"
        (later if content else grouped)[p.user_id].append(
            {
                "id": f"{p.user_id}:{p.course_id}c1" if content else f"{p.user_id}:{p.course_id}",
                "user_id": p.user_id,
                "course_id": p.course_id,
                "revision_id": p.course_id,
                "status": p.status,
                "source_status": "completion" if content else ASSIGNED[p.status],
                "enrolled_at": None if content else p.enrolled_at,
                "due_at": None if content else p.due_at,
                "completed_at": p.completed_at,
                "progress_percent": 100.0 if done else p.progress_percent,
                "score": p.score if done else None,
                "result": None if not done else "FAIL" if failed(p.score) else "PASS",
                "time_spent_seconds": p.time_spent_seconds if done else None,
                "updated_at": p.changed_at,
            }
        )
    return {user_id: grouped[user_id] + later[user_id] for user_id in grouped}


def dump(progressions: Any) -> list[dict[str, Any]]:
    return [p.model_dump(mode="python", include=set(FIELDS)) for p in progressions]


def expected_calls(world: World, user_ids: list[str]) -> int:
    """Two lists per user plus one look-up per distinct content item among them."""
    on_content = content_completions(world)
    contents = {
        p.course_id
        for p in world.progressions
        if p.user_id in user_ids
        and p.id in on_content
        and p.deleted_at is None
        and world.course(p.course_id).deleted_at is None
    }
    return 2 * len(user_ids) + len(contents)


# -- lists -------------------------------------------------------------------------------------


async def test_users_list_to_the_end_as_the_world_says(
    stackone: StackOneConnector, world: World
) -> None:
    users = await read_all(stackone.list_users, 7)
    assert [(u.id, u.first_name, u.last_name, u.email, u.status) for u in users] == [
        (u.id, u.first_name, u.last_name, u.email, u.status) for u in world.users
    ]
    assert [u.updated_at for u in users] == [u.changed_at for u in world.users]


async def test_courses_and_skills_list_to_the_end(
    stackone: StackOneConnector, world: World
) -> None:
    courses = await read_all(stackone.list_courses, 10)
    live = [c for c in world.courses if c.deleted_at is None]
    assert [c.id for c in courses] == [c.id for c in live]
    for course, row in zip(courses, live, strict=True):
        newest = row.revisions[-1]
        assert (course.title, course.url) == (newest.title, newest.url)
        (revision,) = course.revisions
        assert (revision.id, revision.status) == (row.id, newest.status)
        taught = [s for s in newest.skill_ids if world.skill(s).deleted_at is None]
        assert [s.id for s in course.skills] == taught
        name = None if row.provider_id is None else world.provider(row.provider_id).name
        assert course.provider == (None if name is None else Provider(id=name, name=name))
    skills = await read_all(stackone.list_skills, 100)
    assert [s.id for s in skills] == [s.id for s in world.skills if s.deleted_at is None]


async def test_progressions_list_to_the_end_as_the_rules_say(
    stackone: StackOneConnector, world: World
) -> None:
    listed = await read_all(stackone.list_progressions, 9)
    expected = [p for group in expected_progressions(world).values() for p in group]
    assert dump(listed) == expected
    assert {p["source_status"] for p in expected} == {
        "pending",
        "in_progress",
        "completed",
        "completion",
    }


async def test_updated_after_walks_past_short_pages(
    stackone: StackOneConnector, world: World
) -> None:
    pivot: datetime = sorted(u.changed_at for u in world.users)[40]
    users = await read_all(stackone.list_users, 10, ListQuery(updated_after=pivot))
    assert [u.id for u in users] == [u.id for u in world.users if u.changed_at > pivot]


# -- look-ups ----------------------------------------------------------------------------------


async def test_progressions_of_30_users_make_the_expected_calls(
    stackone: StackOneConnector, emulator: Emulator, world: World
) -> None:
    user_ids = [u.id for u in world.users[:30]]
    emulator.clear_requests()
    grouped = await stackone.fetch_progressions_of_users(user_ids)
    assert emulator.count(vendor="stackone") == expected_calls(world, user_ids)
    assert expected_calls(world, user_ids) > 60, "some content completions among them"
    expected = expected_progressions(world)
    assert {user_id: dump(found) for user_id, found in grouped.items()} == {
        user_id: expected[user_id] for user_id in user_ids
    }

    some = [p for found in grouped.values() for p in found][::7]
    again = await stackone.fetch_progressions([p.id for p in some])
    assert {k: p.model_dump() for k, p in again.items()} == {p.id: p.model_dump() for p in some}


async def test_progressions_of_courses_match_the_users_view(
    stackone: StackOneConnector, world: World
) -> None:
    on_content = content_completions(world)
    with_content = next(
        p.course_id
        for p in world.progressions
        if p.id in on_content and p.deleted_at is None and not world.course(p.course_id).deleted_at
    )
    others = [c.id for c in world.courses if c.deleted_at is None and c.id != with_content][:2]
    deleted = next(c.id for c in world.courses if c.deleted_at is not None)
    wanted = [with_content, *others, deleted]
    grouped = await stackone.fetch_progressions_of_courses(wanted)
    everything = [p for group in expected_progressions(world).values() for p in group]
    for course_id in wanted:
        expected = [p for p in everything if p["course_id"] == course_id]
        assert sorted(dump(grouped[course_id]), key=lambda p: p["id"]) == sorted(
            expected, key=lambda p: p["id"]
        )
    assert grouped[deleted] == []
    assert any(p.source_status == "completion" for p in grouped[with_content])


async def test_look_ups_by_id_and_email(stackone: StackOneConnector, world: World) -> None:
    wanted = [world.users[4].id, "unknown0000000000000000", world.users[2].id]
    users = await stackone.fetch_users(wanted)
    assert list(users) == [wanted[0], wanted[2]]
    mixed = next(u for u in world.users if u.email != u.email.lower())
    found = await stackone.fetch_users_by_email([mixed.email.lower()])
    assert [u.id for u in found[mixed.email.lower()]] == [mixed.id]
    deleted = next(c.id for c in world.courses if c.deleted_at is not None)
    live = next(c.id for c in world.courses if c.deleted_at is None)
    assert list(await stackone.fetch_courses([deleted, live])) == [live]


# -- failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "account", "vendor_code"),
    [
        ("sk-wrong-4242", ACCOUNT, None),
        (KEY, "acct-nowhere", "ACCOUNT_NOT_FOUND"),
        (KEY, DISABLED, None),  # a 412: classified by its status
    ],
)
async def test_rejected_credentials_are_auth_errors(
    emulator: Emulator, key: str, account: str, vendor_code: str | None
) -> None:
    connector = connector_for(emulator, key, account)
    await connector.open()
    try:
        with pytest.raises(VendorAuthError) as caught:
            await connector.check_health()
        with pytest.raises(VendorAuthError):
            await connector.fetch_users(["anyone000000000000000000"])  # not "absent"
    finally:
        await connector.close()
    assert caught.value.code == "SOURCE_AUTH_FAILED"
    assert caught.value.vendor_code == vendor_code
    assert key not in str(caught.value)


async def test_rate_limit_with_long_retry_after_fails_fast(
    stackone: StackOneConnector, emulator: Emulator
) -> None:
    emulator.inject_fault("stackone", status=429, headers={"Retry-After": "600"}, times=None)
    with pytest.raises(VendorRateLimited) as caught:
        await stackone.list_users(ListQuery(), None, 10)
    assert caught.value.retry_after == 600
