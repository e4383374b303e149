"""The Kombo emulator speaks Kombo's documented wire format, filters and errors."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import pytest

from connectors.sandbox import (
    DEMO_KOMBO_API_KEY,
    DEMO_KOMBO_INTEGRATION_ID,
    Emulator,
    KomboTenant,
    World,
    generate_world,
)

KomboGet = Callable[..., Awaitable[tuple[int, Any]]]  # the `kombo` fixture
KOMBO_HEADERS = {
    "Authorization": f"Bearer {DEMO_KOMBO_API_KEY}",
    "X-Integration-Id": DEMO_KOMBO_INTEGRATION_ID,
}

KOMBO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
COMMON = {"id", "remote_id", "changed_at", "remote_deleted_at", "remote_data"}
EXTRAS = {"custom_fields", "integration_fields", "remote_created_at"}
USER_FIELDS = COMMON | EXTRAS | {"first_name", "last_name", "work_email", "status"}
SKILL_FIELDS = COMMON | EXTRAS | {"name"}
COURSE_FIELDS = COMMON | EXTRAS | {"provider_id", "origin_id", "provider", "revisions"}
REVISION_FIELDS = COMMON | EXTRAS
REVISION_FIELDS |= {"course_id", "title", "description", "remote_url", "status"}
REVISION_FIELDS |= {"skill_assignments"}
PROGRESSION_FIELDS = COMMON | {"user_id", "course_revision_id", "status", "enrolled_at"}
PROGRESSION_FIELDS |= {"completed_at", "user", "course_revision"}


def kombo_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


async def walk(kombo: KomboGet, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
    """Every result of a list, following ``data.next``."""
    results: list[dict[str, Any]] = []
    cursor = None
    while True:
        page_params = params if cursor is None else {**params, "cursor": cursor}
        status, body = await kombo(path, page_params)
        assert status == 200, body
        assert body["status"] == "success"
        results += body["data"]["results"]
        cursor = body["data"]["next"]
        if cursor is None:
            return results


def assert_error(status: int, body: Any, expected_status: int, code: str | None) -> None:
    assert status == expected_status
    assert body["status"] == "error"
    assert set(body["error"]) == {"code", "title", "message", "log_url"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert body["error"]["log_url"] is None


async def test_every_documented_field_is_present(kombo: KomboGet) -> None:
    expected = {
        "/lms/users": USER_FIELDS,
        "/lms/skills": SKILL_FIELDS,
        "/lms/courses": COURSE_FIELDS,
        "/lms/course-progressions": PROGRESSION_FIELDS,
    }
    for path, fields in expected.items():
        status, body = await kombo(path, {"page_size": "5"})
        assert status == 200
        assert set(body) == {"status", "data"}
        assert set(body["data"]) == {"next", "results"}
        for item in body["data"]["results"]:
            assert set(item) == fields, path
            assert KOMBO_TIME.fullmatch(item["changed_at"])

    _, body = await kombo("/lms/courses", {"page_size": "40"})
    revision = body["data"]["results"][0]["revisions"][0]
    assert set(revision) == REVISION_FIELDS
    revisions = [r for c in body["data"]["results"] for r in c["revisions"]]
    assigned = [a["skill"] for r in revisions for a in r["skill_assignments"]]
    assert assigned
    assert set(assigned[0]) == {"id", "remote_id", "name"}
    providers = [c["provider"] for c in body["data"]["results"]]
    assert None in providers
    assert {"id", "remote_id", "name"} in [set(p) for p in providers if p]

    _, body = await kombo("/lms/course-progressions", {"page_size": "1"})
    item = body["data"]["results"][0]
    assert set(item["user"]) == {"id", "remote_id", "first_name", "last_name", "work_email"}
    assert set(item["course_revision"]) == {"id", "remote_id", "title", "course"}
    assert set(item["course_revision"]["course"]) == {"id", "remote_id"}


@pytest.mark.parametrize("page_size", [None, "3", "50", "250"])
async def test_pagination_walks_all_users_exactly_once(
    kombo: KomboGet, tenants: list[KomboTenant], page_size: str | None
) -> None:
    world = tenants[0].world
    params = {} if page_size is None else {"page_size": page_size}
    users = await walk(kombo, "/lms/users", params)
    expected = [u.id for u in world.users if u.deleted_at is None]
    assert [u["id"] for u in users] == expected

    everything = await walk(kombo, "/lms/users", {**params, "include_deleted": "true"})
    assert [u["id"] for u in everything] == [u.id for u in world.users]
    assert any(u["remote_deleted_at"] for u in everything)


async def test_default_page_size_is_100(kombo: KomboGet) -> None:
    _, body = await kombo("/lms/users")
    assert len(body["data"]["results"]) == 100
    assert body["data"]["next"] is not None


async def test_ids_and_remote_ids_are_anded_and_ored_within(
    kombo: KomboGet, tenants: list[KomboTenant]
) -> None:
    users = [u for u in tenants[0].world.users if u.deleted_at is None]
    ids = f"{users[0].id},{users[1].id},{users[2].id},unknown"
    _, body = await kombo("/lms/users", {"ids": ids})
    assert [u["id"] for u in body["data"]["results"]] == [u.id for u in users[:3]]

    remote_ids = f"{users[1].remote_id},{users[5].remote_id}"
    _, body = await kombo("/lms/users", {"ids": ids, "remote_ids": remote_ids})
    assert [u["id"] for u in body["data"]["results"]] == [users[1].id]

    skill = tenants[0].world.skills[0]
    _, body = await kombo("/lms/skills", {"remote_ids": skill.remote_id})
    assert [s["id"] for s in body["data"]["results"]] == [skill.id]


async def test_work_emails_match_case_insensitively(
    kombo: KomboGet, tenants: list[KomboTenant]
) -> None:
    mixed = next(u for u in tenants[0].world.users if u.email != u.email.lower())
    plain = next(u for u in tenants[0].world.users if u.deleted_at is None and u is not mixed)
    emails = f"{mixed.email.upper()},{plain.email.swapcase()}"
    _, body = await kombo("/lms/users", {"work_emails": emails, "include_deleted": "true"})
    found = {u["id"]: u["work_email"] for u in body["data"]["results"]}
    assert found == {mixed.id: mixed.email, plain.id: plain.email}


async def test_progressions_by_user_and_course(kombo: KomboGet, tenants: list[KomboTenant]) -> None:
    world = tenants[0].world
    busy = [u for u in world.users if len(world.progressions_of(u.id)) >= 3]
    user_ids = [busy[0].id, busy[1].id]
    expected = [p.id for p in world.progressions if p.user_id in user_ids and p.deleted_at is None]
    found = await walk(kombo, "/lms/course-progressions", {"user_ids": ",".join(user_ids)})
    assert [p["id"] for p in found] == expected

    course_id = world.progressions_of(busy[0].id)[0].course_id
    found = await walk(
        kombo, "/lms/course-progressions", {"course_ids": course_id, "include_deleted": "true"}
    )
    assert found
    assert [p["id"] for p in found] == [
        p.id for p in world.progressions if p.course_id == course_id
    ]
    assert {p["course_revision"]["course"]["id"] for p in found} == {course_id}

    params = {"user_ids": busy[0].id, "course_ids": course_id}
    _, body = await kombo("/lms/course-progressions", params)
    assert [p["user_id"] for p in body["data"]["results"]] == [busy[0].id]


async def test_updated_after_compares_with_changed_at(
    kombo: KomboGet, tenants: list[KomboTenant]
) -> None:
    world = tenants[0].world
    pivot = sorted(p.changed_at for p in world.progressions)[len(world.progressions) // 2]
    params = {"updated_after": kombo_time(pivot), "include_deleted": "true"}
    found = await walk(kombo, "/lms/course-progressions", params)
    assert [p["id"] for p in found] == [p.id for p in world.progressions if p.changed_at > pivot]
    _, body = await kombo("/lms/users", {"updated_after": "2026-01-01"})
    assert body["data"]["results"]


async def test_courses_hide_deleted_revisions_and_count_revision_changes(
    kombo: KomboGet, tenants: list[KomboTenant]
) -> None:
    world = tenants[0].world
    course = next(c for c in world.courses if any(r.deleted_at for r in c.revisions))
    _, body = await kombo("/lms/courses", {"ids": course.id})
    visible = [r["id"] for r in body["data"]["results"][0]["revisions"]]
    assert visible == [r.id for r in course.revisions if r.deleted_at is None]
    _, body = await kombo("/lms/courses", {"ids": course.id, "include_deleted": "true"})
    assert len(body["data"]["results"][0]["revisions"]) == len(course.revisions)

    newest = max(r.changed_at for r in course.revisions)
    if newest > course.changed_at:  # the course matches through its revision only
        params = {"ids": course.id, "updated_after": kombo_time(course.changed_at)}
        _, body = await kombo("/lms/courses", params)
        assert [c["id"] for c in body["data"]["results"]] == [course.id]


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"X-Integration-Id": "demo:acme-learning"}, 401, "PLATFORM.AUTHENTICATION_INVALID"),
        ({**KOMBO_HEADERS, "Authorization": "Bearer nope"}, 401, "PLATFORM.AUTHENTICATION_INVALID"),
        ({**KOMBO_HEADERS, "Authorization": "Basic x"}, 401, "PLATFORM.AUTHENTICATION_INVALID"),
        ({"Authorization": KOMBO_HEADERS["Authorization"]}, 400, "PLATFORM.INPUT_INVALID"),
        ({**KOMBO_HEADERS, "X-Integration-Id": "x:y"}, 404, "PLATFORM.INTEGRATION_NOT_FOUND"),
    ],
)
async def test_auth_failures(
    kombo: KomboGet, headers: dict[str, str], status: int, code: str
) -> None:
    got_status, body = await kombo("/lms/users", headers=headers)
    assert_error(got_status, body, status, code)
    assert "demo-kombo-key" not in json.dumps(body)
    assert "nope" not in json.dumps(body)


async def test_a_key_only_opens_its_own_integration(http: Any) -> None:
    tenants = [
        KomboTenant("key-a", "sandbox:a", generate_world(seed=1, users=5, courses=3)),
        KomboTenant("key-b", "sandbox:b", generate_world(seed=2, users=7, courses=3)),
    ]
    async with Emulator(tenants) as emulator:
        url = emulator.kombo_base_url + "/lms/users"
        for key, integration, status in [
            ("key-a", "sandbox:a", 200),
            ("key-b", "sandbox:b", 200),
            ("key-a", "sandbox:b", 401),
        ]:
            headers = {"Authorization": f"Bearer {key}", "X-Integration-Id": integration}
            async with http.get(url, headers=headers) as response:
                body = await response.json()
            assert response.status == status
            if status == 200:
                world: World = next(t.world for t in tenants if t.integration_id == integration)
                assert [u["id"] for u in body["data"]["results"]] == [
                    u.id for u in world.users if u.deleted_at is None
                ]
            else:
                assert key not in body["error"]["message"]


@pytest.mark.parametrize(
    "params",
    [
        {"page_size": "0"},
        {"page_size": "251"},
        {"page_size": "ten"},
        {"page_size": "-1"},
        {"cursor": "not-a-cursor"},
        {"cursor": base64.b64encode(b'{"offset": 1}').decode()},
        {"updated_after": "yesterday"},
        {"updated_after": "2026-13-01T00:00:00.000Z"},
        {"include_deleted": "yes"},
    ],
)
async def test_bad_input_is_rejected(kombo: KomboGet, params: dict[str, str]) -> None:
    status, body = await kombo("/lms/users", params)
    assert_error(status, body, 400, "PLATFORM.INPUT_INVALID")


async def test_a_cursor_only_works_with_the_filters_it_was_made_for(kombo: KomboGet) -> None:
    _, body = await kombo("/lms/users", {"page_size": "5"})
    cursor = body["data"]["next"]
    status, _ = await kombo("/lms/users", {"page_size": "7", "cursor": cursor})
    assert status == 200  # page_size is not a filter
    status, body = await kombo("/lms/users", {"cursor": cursor, "include_deleted": "true"})
    assert_error(status, body, 400, "PLATFORM.INPUT_INVALID")
    status, body = await kombo("/lms/skills", {"cursor": cursor})
    assert_error(status, body, 400, "PLATFORM.INPUT_INVALID")


async def test_unknown_params_are_ignored(kombo: KomboGet) -> None:
    params = {"page_size": "2", "colour": "blue", "ignore_unsupported_filters": "true"}
    status, body = await kombo("/lms/skills", params)
    assert status == 200
    assert len(body["data"]["results"]) == 2


async def test_unknown_paths_get_a_kombo_404(kombo: KomboGet) -> None:
    for path in ("/lms/teachers", "/lms/users/abc", "/hris/employees"):
        status, body = await kombo(path)
        assert_error(status, body, 404, None)
