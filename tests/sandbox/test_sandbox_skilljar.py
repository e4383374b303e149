"""The Skilljar emulator over HTTP: auth, both paginations, filters, 404s and the encoding rules."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import aiohttp
import pytest

from connectors.sandbox import Emulator, World, generate_world
from connectors.sandbox.records import WorldProgression
from connectors.sandbox.skilljar import SkilljarTenant, build_skilljar_app

# Seed 31 has a deleted course, deleted progressions, a deleted user and failed scores.
WORLD = generate_world(31, users=40, courses=12, id_style="lower36")
OTHER = generate_world(8, users=5, courses=3, id_style="lower36")
KEY, DOMAIN = "sk-test-key", "academy.test.example"
OTHER_KEY, OTHER_DOMAIN = "sk-other-key", "partners.test.example"
PUBLISHED = f"/v1/domains/{DOMAIN}/published-courses"


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


AUTH = basic(KEY)


def served(world: World) -> list[WorldProgression]:
    return [
        p
        for p in world.progressions
        if p.deleted_at is None and world.course(p.course_id).deleted_at is None
    ]


def drf_time(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    tenants = [SkilljarTenant(KEY, DOMAIN, WORLD), SkilljarTenant(OTHER_KEY, OTHER_DOMAIN, OTHER)]
    async with Emulator(skilljar_tenants=tenants) as running:
        yield running


@pytest.fixture
def base(emulator: Emulator) -> str:
    return emulator.vendor_base_url("skilljar")


async def request(
    url: str, headers: dict[str, str] = AUTH, method: str = "GET", **params: str
) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, params=params, headers=headers) as response,
    ):
        text = await response.text()
        return response.status, (await response.json(content_type=None)) if text else None


async def walk(url: str, headers: dict[str, str] = AUTH, **params: str) -> list[dict[str, Any]]:
    """Every result of a list, following ``next``; checks ``count`` on every page."""
    results: list[dict[str, Any]] = []
    status, page = await request(url, headers, **params)
    count = page["count"]
    for _ in range(1000):
        assert status == 200
        assert page["count"] == count
        results.extend(page["results"])
        if page["next"] is None:
            assert len(results) == count
            return results
        status, page = await request(page["next"], headers)
    raise AssertionError("list did not end")


# -- auth ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("wrong"),
        {"Authorization": f"Bearer {KEY}"},
        {"Authorization": "Basic not-base64!"},
        {"Authorization": "Basic " + base64.b64encode(KEY.encode()).decode()},  # no colon
    ],
)
async def test_bad_credentials_get_drfs_401(base: str, headers: dict[str, str]) -> None:
    status, body = await request(base + "/v1/users", headers)
    assert status == 401
    assert set(body) == {"detail"}
    assert KEY not in body["detail"]


async def test_the_key_picks_the_tenant_and_its_domain(base: str) -> None:
    assert await request(base + "/v1/ping") == (200, None)
    other = await walk(base + "/v1/users", basic(OTHER_KEY))
    assert [item["user"]["id"] for item in other] == [u.id for u in OTHER.users]
    status, body = await request(base + PUBLISHED, basic(OTHER_KEY))
    assert (status, body) == (404, {"detail": "Not found."})  # not the other tenant's domain
    assert len(await walk(base + f"/v1/domains/{OTHER_DOMAIN}/published-courses", basic(OTHER_KEY)))


def test_two_tenants_cannot_share_a_key() -> None:
    with pytest.raises(ValueError, match="share an API key"):
        build_skilljar_app([SkilljarTenant(KEY, DOMAIN, WORLD), SkilljarTenant(KEY, "x", OTHER)])


# -- users ---------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["7", "1000"])
async def test_users_cursor_pages_reach_every_user_once(base: str, size: str) -> None:
    status, first = await request(base + "/v1/users", page_size=size)
    assert (status, first["previous"]) == (200, None)
    if size == "7":
        assert "cursor=" in first["next"]
        assert "page=" not in first["next"]
    else:
        assert first["next"] is None
    users = await walk(base + "/v1/users", page_size=size)
    assert [item["user"]["id"] for item in users] == [u.id for u in WORLD.users]


async def test_users_page_numbers_on_request(base: str) -> None:
    status, page = await request(base + "/v1/users", page="2", page_size="10")
    assert status == 200
    assert [i["user"]["id"] for i in page["results"]] == [u.id for u in WORLD.users[10:20]]
    assert "page=3" in page["next"]
    assert "page=1" in page["previous"]


async def test_user_encoding(base: str) -> None:
    rows: dict[str, list[WorldProgression]] = {}
    for row in served(WORLD):
        rows.setdefault(row.user_id, []).append(row)
    for item in await walk(base + "/v1/users"):
        user = WORLD.user(item["user"]["id"])
        inactive = user.deleted_at or (user.changed_at if user.status == "INACTIVE" else None)
        mine = rows.get(user.id, [])
        assert item == {
            "user": {
                "id": user.id,
                "email": user.email,
                "first_name": user.first_name,
                "last_name": user.last_name,
            },
            "registration_count": len(mine),
            "completion_count": sum(1 for p in mine if p.status == "COMPLETED"),
            "signed_up_at": drf_time(user.created_at),
            "latest_activity": drf_time(user.changed_at),
            "inactive_at": drf_time(inactive),
        }
    deleted = next(u for u in WORLD.users if u.deleted_at is not None)
    status, item = await request(base + f"/v1/users/{deleted.id}")
    assert (status, item["inactive_at"]) == (200, drf_time(deleted.deleted_at))


async def test_email_filter_ignores_case(base: str) -> None:
    user = WORLD.users[4]
    status, page = await request(base + "/v1/users", email=user.email.upper())
    assert status == 200
    assert [item["user"]["id"] for item in page["results"]] == [user.id]
    assert page["count"] == 1


# -- courses and published courses ---------------------------------------------------------


async def test_courses_are_the_live_ones_with_the_newest_revisions_text(base: str) -> None:
    live = [c for c in WORLD.courses if c.deleted_at is None]
    assert len(live) < len(WORLD.courses)
    courses = await walk(base + "/v1/courses", page_size="5")
    assert [c["id"] for c in courses] == [c.id for c in live]
    for item, course in zip(courses, live, strict=True):
        newest = course.revisions[-1]
        assert (item["title"], item["short_description"]) == (newest.title, newest.description)
        assert item["created_at"] == drf_time(course.created_at)
        assert item["modified_at"] == drf_time(course.changed_at)
    status, one = await request(base + f"/v1/courses/{live[2].id}")
    assert (status, one) == (200, courses[2])
    gone = next(c for c in WORLD.courses if c.deleted_at is not None)
    assert await request(base + f"/v1/courses/{gone.id}") == (404, {"detail": "Not found."})


async def test_published_courses_are_every_revision_of_live_courses(base: str) -> None:
    live = [c for c in WORLD.courses if c.deleted_at is None]
    published = await walk(base + PUBLISHED, page_size="4")
    assert [p["id"] for p in published] == [r.id for c in live for r in c.revisions]
    by_id = {p["id"]: p for p in published}
    for course in live:
        for revision in course.revisions:
            assert by_id[revision.id]["course"] == {
                "id": course.id,
                "title": course.revisions[-1].title,
                "lesson_count": 10,
                "required_lesson_count": 10,
            }
            assert by_id[revision.id]["course_url"] == revision.url
            assert by_id[revision.id]["hidden"] is (revision.status == "INACTIVE")
    wanted = live[1]
    filtered = await walk(base + PUBLISHED, course__id=wanted.id)
    assert [p["id"] for p in filtered] == [r.id for r in wanted.revisions]
    revision = wanted.revisions[0]
    assert await request(base + f"{PUBLISHED}/{revision.id}") == (200, by_id[revision.id])


# -- progress and enrolments ---------------------------------------------------------------


def expected_progress(row: WorldProgression) -> dict[str, Any]:
    """The rules of the module docstring, written out once more."""
    percent = row.progress_percent
    lessons = {
        "COMPLETED": 10,
        "IN_PROGRESS": max(1, min(9, round((50 if percent is None else percent) / 10))),
        "ENROLLED": 0,
        "DROPPED": max(0, min(9, round((percent or 0) / 10))),
    }[row.status]
    scored = row.status == "COMPLETED" and row.score is not None
    success = None
    if row.status == "COMPLETED":
        success = "FAILED" if row.score is not None and row.score < 60 else "PASSED"
    return {
        "published_course_id": row.revision_id,
        "domain_name": DOMAIN,
        "enrolled_at": drf_time(row.enrolled_at),
        "enrollment_id": row.id,
        "course_progress": {
            "course_progress_id": row.id,
            "completed_lesson_count": lessons,
            "completed_required_lesson_count": lessons,
            "completed_at": drf_time(row.completed_at),
            "latest_activity": drf_time(row.changed_at),
            "score": round(row.score) if scored and row.score is not None else None,
            "max_score": 100 if scored else None,
            "success_status": success,
        },
        "all_enrollments": [
            {
                "course_progress_id": row.id,
                "active": row.status != "DROPPED",
                "expires_at": None,
                "enrollment_id": row.id,
            }
        ],
    }


async def test_progress_is_every_served_progression_encoded_by_status(base: str) -> None:
    rows = served(WORLD)
    assert len(rows) < len(WORLD.progressions)  # deleted ones and a deleted course's exist
    seen: list[str] = []
    for user in WORLD.users:
        # A plain array, as the spec types it: `page_size` changes nothing.
        status, items = await request(
            base + f"/v1/users/{user.id}/published-courses", page_size="3"
        )
        assert status == 200
        assert isinstance(items, list)
        mine = [p for p in rows if p.user_id == user.id]
        assert [i["enrollment_id"] for i in items] == [p.id for p in mine]
        for item, row in zip(items, mine, strict=True):
            course = item.pop("course")
            assert course["id"] == row.course_id
            assert item == expected_progress(row)
        seen.extend(i["enrollment_id"] for i in items)
    assert seen == [p.id for p in rows]
    assert {p.status for p in rows} == {"ENROLLED", "IN_PROGRESS", "COMPLETED", "DROPPED"}


async def test_one_progress_and_its_404s(base: str) -> None:
    row = served(WORLD)[0]
    path = f"/v1/users/{row.user_id}/published-courses/{row.revision_id}"
    status, item = await request(base + path)
    assert status == 200
    assert item["enrollment_id"] == row.id
    live = {(p.user_id, p.revision_id) for p in served(WORLD)}
    hidden = [p for p in WORLD.progressions if (p.user_id, p.revision_id) not in live]
    assert hidden  # deleted, or on the deleted course
    for gone in hidden:
        path = f"/v1/users/{gone.user_id}/published-courses/{gone.revision_id}"
        assert await request(base + path) == (404, {"detail": "Not found."})
    assert (await request(base + "/v1/users/nosuchuser/published-courses"))[0] == 404


async def test_enrolments_of_a_published_course(base: str) -> None:
    row = served(WORLD)[0]
    items = await walk(base + f"{PUBLISHED}/{row.revision_id}/enrollments")
    expected = [p for p in served(WORLD) if p.revision_id == row.revision_id]
    assert [i["id"] for i in items] == [p.id for p in expected]
    assert [i["user"]["id"] for i in items] == [p.user_id for p in expected]
    assert [i["active"] for i in items] == [p.status != "DROPPED" for p in expected]
    status, _ = await request(base + f"{PUBLISHED}/nosuchcourse/enrollments")
    assert status == 404


# -- errors and paging edges ---------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/v1/users/nosuchuser", "/v1/courses/nosuchcourse", f"{PUBLISHED}/nosuchcourse", "/v1/nope"],
)
async def test_unknown_ids_and_routes_get_drfs_404(base: str, path: str) -> None:
    assert await request(base + path) == (404, {"detail": "Not found."})


async def test_other_methods_get_405(base: str) -> None:
    status, body = await request(base + "/v1/users", method="POST")
    assert (status, body) == (405, {"detail": 'Method "POST" not allowed.'})


async def test_page_numbers_outside_the_list_and_page_sizes_as_drf_reads_them(base: str) -> None:
    assert await request(base + "/v1/courses", page="99") == (404, {"detail": "Invalid page."})
    assert (await request(base + "/v1/courses", page="0"))[0] == 404
    _, page = await request(base + "/v1/courses", page_size="nonsense")
    assert len(page["results"]) == min(100, page["count"])  # the default
    _, page = await request(base + "/v1/users", page_size="5000")
    assert len(page["results"]) == len(WORLD.users)  # capped at 1000, above this world
    assert (await request(base + "/v1/users", cursor="!!"))[0] == 404


async def test_injected_faults_use_drfs_body(emulator: Emulator, base: str) -> None:
    emulator.inject_fault("skilljar", "/v1/users", status=429, headers={"Retry-After": "3"})
    async with aiohttp.ClientSession() as session, session.get(base + "/v1/users") as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "3"
        assert await response.json() == {"detail": "Injected fault (429)."}
    assert emulator.count(vendor="skilljar", path="/v1/users") == 1
