"""The StackOne emulator speaks StackOne's wire format, auth, paging, filters and errors."""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import aiohttp
import pytest

from connectors.sandbox import Emulator, World, generate_world
from connectors.sandbox.stackone import STACKONE_PREFIX, StackOneTenant, stackone_error_body
from connectors.sandbox.stackone_wire import content_completion_ids, content_ids, serve

#: A world with deleted users, courses, skills and progressions, and inactive courses.
SEED = 2
KEY = "sk-stackone-test"
ACCOUNT = "acct-main"
SECOND_ACCOUNT = "acct-second"
OTHER_KEY = "sk-other-project"
DISABLED = "acct-disabled"
LMS = "/unified/lms"
TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
ERROR_FIELDS = {"statusCode", "message", "timestamp"}

Get = Callable[..., Awaitable[tuple[int, Any]]]


def basic(key: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{key}:{password}".encode()).decode()


HEADERS = {"Authorization": basic(KEY), "x-account-id": ACCOUNT, "User-Agent": "tests/1.0"}


def wire_time(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(SEED, users=60, courses=25, id_style="base58")


@pytest.fixture(scope="module")
def second_world() -> World:
    return generate_world(6, users=5, courses=3, id_style="base58")


@pytest.fixture
async def emulator(world: World, second_world: World) -> AsyncIterator[Emulator]:
    tenants = [
        StackOneTenant(KEY, ACCOUNT, world),
        StackOneTenant(KEY, SECOND_ACCOUNT, second_world),
        StackOneTenant(OTHER_KEY, DISABLED, second_world, disabled=True),
    ]
    async with Emulator(stackone_tenants=tenants) as running:
        yield running


@pytest.fixture
async def get(emulator: Emulator) -> AsyncIterator[Get]:
    """``await get(path, params, headers=...)`` -> (status, parsed JSON body)."""
    async with aiohttp.ClientSession() as session:

        async def call(
            path: str,
            params: Mapping[str, str] | None = None,
            *,
            headers: Mapping[str, str] = HEADERS,
            method: str = "GET",
        ) -> tuple[int, Any]:
            # skip_auto_headers: aiohttp would otherwise add its own User-Agent.
            async with session.request(
                method,
                emulator.vendor_base_url("stackone") + path,
                params=params or {},
                headers=headers,
                skip_auto_headers=["User-Agent"],
            ) as response:
                return response.status, await response.json(content_type=None)

        yield call


async def walk(get: Get, path: str, params: Mapping[str, str] | None = None) -> list[Any]:
    """Every record of a list, following ``next``; also checks each page's envelope."""
    records: list[Any] = []
    cursor = None
    for _ in range(1000):
        page_params = dict(params or {}) | ({"next": cursor} if cursor else {})
        status, body = await get(path, page_params)
        assert status == 200, body
        assert set(body) == {"next", "data"}
        records += body["data"]
        cursor = body["next"]
        if cursor is None:
            return records
    raise AssertionError("list did not end")


def assert_error(status: int, body: Any, expected: int, message: str | None = None) -> None:
    assert status == expected, body
    assert set(body) == ERROR_FIELDS
    assert body["statusCode"] == expected
    assert body["timestamp"] == "2026-01-01T00:00:00.000Z"  # deterministic
    if message is not None:
        assert body["message"] == message


# -- auth --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status", "message"),
    [
        ({**HEADERS, "User-Agent": ""}, 403, None),
        ({"x-account-id": ACCOUNT, "User-Agent": "t"}, 401, "Unauthorized"),
        ({**HEADERS, "Authorization": f"Bearer {KEY}"}, 401, "Unauthorized"),
        ({**HEADERS, "Authorization": basic("sk-wrong")}, 401, "Unauthorized"),
        ({**HEADERS, "Authorization": basic("", KEY)}, 401, "Unauthorized"),
        ({**HEADERS, "Authorization": basic(KEY, "not-empty")}, 401, "Unauthorized"),
        ({**HEADERS, "Authorization": "Basic %%%"}, 401, "Unauthorized"),
        ({"Authorization": basic(KEY), "User-Agent": "t"}, 400, None),
        ({**HEADERS, "x-account-id": "acct-unknown"}, 404, "Account acct-unknown not found"),
        ({**HEADERS, "x-account-id": DISABLED}, 404, f"Account {DISABLED} not found"),
        (
            {**HEADERS, "Authorization": basic(OTHER_KEY), "x-account-id": DISABLED},
            412,
            "The linked account is disabled.",
        ),
    ],
    ids=[
        "no user agent",
        "no authorization",
        "bearer",
        "wrong key",
        "key as password",
        "password set",
        "not base64",
        "no account",
        "unknown account",
        "another project's account",
        "disabled account",
    ],
)
async def test_auth_is_rejected_with_stackones_body(
    get: Get, headers: dict[str, str], status: int, message: str | None
) -> None:
    code, body = await get(f"{LMS}/users", headers=headers)
    assert_error(code, body, status, message)
    assert KEY not in str(body)


async def test_the_account_header_picks_the_world(
    get: Get, world: World, second_world: World
) -> None:
    _, mine = await get(f"{LMS}/users", {"page_size": "100"})
    _, other = await get(
        f"{LMS}/users", {"page_size": "100"}, headers={**HEADERS, "x-account-id": SECOND_ACCOUNT}
    )
    assert [u["id"] for u in mine["data"]] == [u.id for u in world.users]
    assert [u["id"] for u in other["data"]] == [u.id for u in second_world.users]


async def test_unknown_routes_answer_404_before_auth(get: Get) -> None:
    status, body = await get(f"{LMS}/categories", headers={})
    assert_error(status, body, 404, f"Cannot GET {STACKONE_PREFIX}{LMS}/categories")
    status, body = await get(f"{LMS}/users", method="POST")
    assert_error(status, body, 404, f"Cannot POST {STACKONE_PREFIX}{LMS}/users")


# -- paging ------------------------------------------------------------------------------------


@pytest.mark.parametrize("page_size", [None, "1", "7", "100"])
async def test_walking_users_returns_every_world_user_once(
    get: Get, world: World, page_size: str | None
) -> None:
    params = {} if page_size is None else {"page_size": page_size}
    users = await walk(get, f"{LMS}/users", params)
    assert [u["id"] for u in users] == [u.id for u in world.users]  # deleted ones too


async def test_default_page_size_is_25(get: Get) -> None:
    _, body = await get(f"{LMS}/users")
    assert len(body["data"]) == 25
    assert body["next"] is not None


@pytest.mark.parametrize("page_size", ["0", "101", "abc", "-1", "1.5"])
async def test_bad_page_size_is_400(get: Get, page_size: str) -> None:
    status, body = await get(f"{LMS}/users", {"page_size": page_size})
    assert_error(status, body, 400)


async def test_forged_or_foreign_next_is_400(get: Get, world: World) -> None:
    _, first = await get(f"{LMS}/users", {"page_size": "2"})
    for params in (
        {"next": "not-a-cursor"},
        {"next": first["next"], "filter[email]": "x@y.z"},  # other filters
    ):
        status, body = await get(f"{LMS}/users", params)
        assert_error(status, body, 400)
    status, body = await get(f"{LMS}/courses", {"next": first["next"]})  # another list
    assert_error(status, body, 400)
    users = [u.id for u in world.users]
    _, mine = await get(f"{LMS}/users/{users[0]}/assignments", {"page_size": "1"})
    if mine["next"] is not None:
        status, body = await get(f"{LMS}/users/{users[1]}/assignments", {"next": mine["next"]})
        assert_error(status, body, 400)


# -- encoding rules ------------------------------------------------------------------------------


async def test_users_follow_the_encoding_rules(get: Get, world: World) -> None:
    users = await walk(get, f"{LMS}/users", {"page_size": "100"})
    for index, (row, sent) in enumerate(zip(world.users, users, strict=True)):
        active: Any = row.status == "ACTIVE"
        if index % 10 == 9:
            active = "true" if active else "false"
        assert sent == {
            "id": row.id,
            "remote_id": row.remote_id,
            "external_reference": None,
            "name": f"{row.first_name} {row.last_name}",
            "email": row.email,
            "phone_number": None,
            "active": active,
            "created_at": wire_time(row.created_at),
            "updated_at": wire_time(row.changed_at),
        }
    assert any(isinstance(u["active"], str) for u in users)
    deleted = next(u for u in world.users if u.deleted_at is not None)
    assert next(u for u in users if u["id"] == deleted.id)["active"] in (False, "false")


async def test_courses_content_and_skills_follow_the_encoding_rules(get: Get, world: World) -> None:
    courses = await walk(get, f"{LMS}/courses", {"page_size": "100"})
    live = [c for c in world.courses if c.deleted_at is None]
    assert len(live) < len(world.courses), "the world must have a deleted course"
    assert [c["id"] for c in courses] == [c.id for c in live]
    for row, sent in zip(live, courses, strict=True):
        newest = row.revisions[-1]
        live_skills = [s for s in newest.skill_ids if world.skill(s).deleted_at is None]
        assert (sent["title"], sent["description"], sent["url"]) == (
            newest.title,
            newest.description,
            newest.url,
        )
        assert sent["active"] is (newest.status == "ACTIVE")
        assert [s["id"] for s in sent["skills"]] == live_skills
        assert all(s["active"] is True for s in sent["skills"])
        provider = world.provider(row.provider_id).name if row.provider_id else None
        assert sent["provider"] == provider
        assert sent["content_ids"] == [f"{row.id}c1", f"{row.id}c2"]
        assert TIME.fullmatch(sent["updated_at"])
    assert {c["provider"] is None for c in courses} == {True, False}

    content = await walk(get, f"{LMS}/content", {"page_size": "100"})
    assert [c["id"] for c in content] == [i for row in live for i in content_ids(row.id)]
    assert all(c["course_ids"] == [c["id"][:-2]] for c in content)
    assert {c["content_type"]["value"] for c in content} == {"video"}

    skills = await walk(get, f"{LMS}/skills")
    assert [s["id"] for s in skills] == [s.id for s in world.skills if s.deleted_at is None]
    assert set(skills[0]) == {"id", "remote_id", "name", "active"}


def seconds_of(duration: str | None) -> int | None:
    """Seconds of the emulator's ``PT#H#M#S`` (each part optional, at least one)."""
    if duration is None:
        return None
    match = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?", duration)
    assert match is not None
    assert duration != "PT"
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * 3600 + minutes * 60 + seconds


def served(world: World) -> list[Any]:
    """Live progressions of live courses, in world order (the rule, restated)."""
    return [
        p
        for p in world.progressions
        if p.deleted_at is None and world.course(p.course_id).deleted_at is None
    ]


async def test_progressions_become_assignments_and_completions(get: Get, world: World) -> None:
    assignments = await walk(get, f"{LMS}/assignments", {"page_size": "100"})
    completions = await walk(get, f"{LMS}/completions", {"page_size": "100"})
    completed = [p.id for p in world.progressions if p.status == "COMPLETED"]
    on_content = set(completed[4::5])
    assert content_completion_ids(world) == on_content

    rows = served(world)
    expected_assignments = [p for p in rows if p.status != "DROPPED" and p.id not in on_content]
    assert [a["id"] for a in assignments] == [f"{p.id}A" for p in expected_assignments]
    status = {"ENROLLED": "pending", "IN_PROGRESS": "in_progress", "COMPLETED": "completed"}
    for row, sent in zip(expected_assignments, assignments, strict=True):
        assert sent["status"]["value"] == status[row.status]
        assert sent["learning_object_type"]["value"] == "course"
        assert (sent["learning_object_id"], sent["user_id"]) == (row.course_id, row.user_id)
        assert sent["progress"] == row.progress_percent
        assert (sent["assigned_at"], sent["due_date"]) == (
            wire_time(row.enrolled_at),
            wire_time(row.due_at),
        )
        assert sent["updated_at"] == wire_time(row.changed_at)

    expected_completions = [p for p in rows if p.status == "COMPLETED"]
    assert [c["id"] for c in completions] == [f"{p.id}C" for p in expected_completions]
    kinds = set()
    for row, sent in zip(expected_completions, completions, strict=True):
        kind = "content" if row.id in on_content else "course"
        kinds.add(kind)
        target = f"{row.course_id}c1" if kind == "content" else row.course_id
        assert (sent["learning_object_type"]["value"], sent["learning_object_id"]) == (kind, target)
        fail = row.score is not None and row.score < 60
        assert sent["result"]["value"] == ("Fail" if fail else "Pass")
        if row.score is None:
            assert sent["score"] is None
        else:
            assert sent["score"] == {"percentage": row.score, "raw_value": f"{row.score:g} / 100"}
        assert sent["completed_at"] == wire_time(row.completed_at)
        assert seconds_of(sent["time_spent"]) == row.time_spent_seconds
    assert kinds == {"content", "course"}


async def test_per_user_lists_and_single_records(get: Get, world: World) -> None:
    busy = max(world.users, key=lambda u: len(world.progressions_of(u.id)))
    mine = await walk(get, f"{LMS}/users/{busy.id}/assignments")
    everyone = await walk(get, f"{LMS}/assignments", {"page_size": "100"})
    assert mine == [a for a in everyone if a["user_id"] == busy.id]
    assert mine, "the busiest user has assignments"

    status, body = await get(f"{LMS}/users/{busy.id}/assignments/{mine[0]['id']}")
    assert (status, body) == (200, {"data": mine[0]})
    status, body = await get(f"{LMS}/assignments/{mine[0]['id']}")
    assert (status, body) == (200, {"data": mine[0]})
    course = next(c for c in world.courses if c.deleted_at is None)
    status, body = await get(f"{LMS}/content/{course.id}c2")
    assert (status, body["data"]["course_ids"]) == (200, [course.id])

    someone_else = next(u for u in world.users if u.id != busy.id)
    status, body = await get(f"{LMS}/users/{someone_else.id}/assignments/{mine[0]['id']}")
    assert_error(status, body, 404, "Resource not found")


async def test_unknown_and_deleted_ids_are_404(get: Get, world: World) -> None:
    deleted_course = next(c for c in world.courses if c.deleted_at is not None)
    deleted_skill = next(s for s in world.skills if s.deleted_at is not None)
    paths = [
        f"{LMS}/users/unknown",
        f"{LMS}/users/unknown/assignments",
        f"{LMS}/users/unknown/completions",
        f"{LMS}/courses/{deleted_course.id}",
        f"{LMS}/content/{deleted_course.id}c1",
        f"{LMS}/completions/unknown",
        f"{LMS}/users/a%2F..",
        f"{LMS}/skills/{deleted_skill.id}",
    ]
    for path in paths:
        status, body = await get(path)
        assert_error(status, body, 404, "Resource not found")
    deleted_user = next(u for u in world.users if u.deleted_at is not None)
    status, body = await get(f"{LMS}/users/{deleted_user.id}")
    assert status == 200  # users are never deleted, only inactive


# -- filters -------------------------------------------------------------------------------------


async def test_updated_after_is_exclusive_and_pages_can_be_short(get: Get, world: World) -> None:
    pivot = sorted(u.changed_at for u in world.users)[len(world.users) // 2]
    params = {"page_size": "10", "filter[updated_after]": wire_time(pivot) or ""}
    found = await walk(get, f"{LMS}/users", params)
    assert [u["id"] for u in found] == [u.id for u in world.users if u.changed_at > pivot]
    _, first = await get(f"{LMS}/users", params)
    assert first["next"] is not None
    assert len(first["data"]) < 10, "filtered after paging: a short page that is not the last"

    status, body = await get(f"{LMS}/users", {"filter[updated_after]": "yesterday"})
    assert_error(status, body, 400)
    naive = pivot.replace(tzinfo=None).isoformat()  # naive means UTC
    assert await walk(get, f"{LMS}/users", {"filter[updated_after]": naive}) == found


async def test_email_active_status_and_user_filters(get: Get, world: World) -> None:
    mixed = next(u for u in world.users if u.email != u.email.lower())
    _, body = await get(f"{LMS}/users", {"filter[email]": mixed.email.lower()})
    assert [u["id"] for u in body["data"]] == [mixed.id]

    inactive = await walk(get, f"{LMS}/courses", {"filter[active]": "false"})
    assert inactive
    assert all(c["active"] is False for c in inactive)
    status, body = await get(f"{LMS}/courses", {"filter[active]": "maybe"})
    assert_error(status, body, 400)

    pending = await walk(get, f"{LMS}/assignments", {"filter[status]": "pending"})
    assert pending
    assert {a["status"]["value"] for a in pending} == {"pending"}
    user = max(world.users, key=lambda u: len(world.progressions_of(u.id)))
    by_user = await walk(get, f"{LMS}/assignments", {"user_id": user.id})
    assert by_user == await walk(get, f"{LMS}/users/{user.id}/assignments")


def test_serving_is_deterministic(world: World) -> None:
    assert serve(world) == serve(generate_world(SEED, users=60, courses=25, id_style="base58"))
    assert stackone_error_body(429, "x") == {
        "statusCode": 429,
        "message": "x",
        "timestamp": "2026-01-01T00:00:00.000Z",
    }


async def test_injected_faults_use_stackones_body(get: Get, emulator: Emulator) -> None:
    emulator.inject_fault("stackone", f"{LMS}/users", status=429, headers={"Retry-After": "3"})
    status, body = await get(f"{LMS}/users")
    assert_error(status, body, 429)
    assert emulator.count(vendor="stackone", path=f"{LMS}/users") == 1
