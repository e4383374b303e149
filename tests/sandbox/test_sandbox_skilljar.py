"""The Skilljar emulator over HTTP: auth, both paginations, filters and the encoding rules."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from connectors.sandbox import Emulator, generate_world
from connectors.sandbox.skilljar import SkilljarTenant

WORLD = generate_world(5, users=30, courses=8, id_style="lower36")
KEY, DOMAIN = "sk-test-key", "academy.test.example"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()}


@pytest.fixture
async def base() -> AsyncIterator[str]:
    async with Emulator(skilljar_tenants=[SkilljarTenant(KEY, DOMAIN, WORLD)]) as emulator:
        yield emulator.vendor_base_url("skilljar")


async def get(url: str, headers: dict[str, str] = AUTH, **params: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, params=params, headers=headers) as response,
    ):
        return response.status, await response.json(content_type=None)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic " + base64.b64encode(b"wrong:").decode()},
        {"Authorization": "Bearer x"},
    ],
)
async def test_bad_credentials_get_drfs_401(base: str, headers: dict[str, str]) -> None:
    status, body = await get(base + "/v1/users", headers)
    assert status == 401
    assert set(body) == {"detail"}


async def test_users_cursor_pages_reach_every_user_once(base: str) -> None:
    seen: list[str] = []
    status, page = await get(base + "/v1/users", page_size="7")
    while True:
        assert status == 200
        assert page["count"] == len(WORLD.users)
        seen.extend(item["user"]["id"] for item in page["results"])
        if page["next"] is None:
            break
        assert "cursor=" in page["next"]
        status, page = await get(page["next"])
    assert seen == [u.id for u in WORLD.users]


async def test_published_courses_are_every_revision_of_live_courses(base: str) -> None:
    status, page = await get(base + f"/v1/domains/{DOMAIN}/published-courses", page_size="3")
    ids = []
    while True:
        ids.extend(item["id"] for item in page["results"])
        if page["next"] is None:
            break
        status, page = await get(page["next"])
    live = [c for c in WORLD.courses if c.deleted_at is None]
    assert ids == [r.id for c in live for r in c.revisions]
    status, _ = await get(base + "/v1/domains/other.example/published-courses")
    assert status == 404


async def test_progress_encodes_status_as_documented(base: str) -> None:
    user = next(
        u for u in WORLD.users if any(p.status == "DROPPED" for p in WORLD.progressions_of(u.id))
    )
    status, page = await get(base + f"/v1/users/{user.id}/published-courses")
    assert status == 200
    rows = {
        p.revision_id: p
        for p in WORLD.progressions_of(user.id)
        if p.deleted_at is None and WORLD.course(p.course_id).deleted_at is None
    }
    assert [item["published_course_id"] for item in page["results"]] == list(rows)
    for item in page["results"]:
        row = rows[item["published_course_id"]]
        progress = item["course_progress"]
        assert (progress["completed_at"] is not None) == (row.status == "COMPLETED")
        assert item["all_enrollments"][0]["active"] == (row.status != "DROPPED")
        if row.status == "ENROLLED":
            assert progress["completed_lesson_count"] == 0
        if row.status == "IN_PROGRESS":
            assert 1 <= progress["completed_lesson_count"] <= 9
    status, body = await get(base + "/v1/users/nosuchuser/published-courses")
    assert (status, body) == (404, {"detail": "Not found."})


async def test_email_filter_ignores_case(base: str) -> None:
    user = WORLD.users[4]
    status, page = await get(base + "/v1/users", email=user.email.upper())
    assert status == 200
    assert [item["user"]["id"] for item in page["results"]] == [user.id]
