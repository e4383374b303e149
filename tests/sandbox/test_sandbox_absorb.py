"""The Absorb emulator over HTTP: login and tokens, pages, filters, 404s, the encoding rules."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp
import pytest

from connectors.sandbox import Emulator, World, generate_world
from connectors.sandbox.absorb import AbsorbTenant
from connectors.sandbox.absorb_wire import absorb_datetime, enrollment

KEY, USERNAME, PASSWORD = "portal-key-1", "api-admin", "pw-one"
OTHER_KEY = "portal-key-2"
WORLD = generate_world(3, users=40, courses=15, id_style="guid")
OTHER_WORLD = generate_world(4, users=6, courses=3, id_style="guid")
ERROR_KEYS = {"validations", "code", "message", "term", "_meta"}

Call = Callable[..., Awaitable[tuple[int, Any]]]


def live_courses(world: World = WORLD) -> list[Any]:
    return [c for c in world.courses if c.deleted_at is None]


def served_progressions(world: World = WORLD) -> list[Any]:
    return [
        p
        for p in world.progressions
        if p.deleted_at is None and world.course(p.course_id).deleted_at is None
    ]


def test_the_world_has_what_the_rules_are_about() -> None:
    assert any(c.deleted_at for c in WORLD.courses)
    assert any(p.deleted_at for p in WORLD.progressions)
    assert any(u.deleted_at for u in WORLD.users)
    assert any(
        p.deleted_at is None and WORLD.course(p.course_id).deleted_at for p in WORLD.progressions
    )
    assert len(served_progressions()) > 100


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    tenants = [
        AbsorbTenant(KEY, USERNAME, PASSWORD, WORLD),
        AbsorbTenant(OTHER_KEY, USERNAME, "pw-two", OTHER_WORLD),
    ]
    async with Emulator(absorb_tenants=tenants) as running:
        yield running


@pytest.fixture
def call(emulator: Emulator, http: aiohttp.ClientSession) -> Call:
    """``await call(method, path, params=…, headers=…, body=…)`` -> (status, parsed JSON)."""

    async def send(
        method: str,
        path: str,
        params: Mapping[str, str] | Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> tuple[int, Any]:
        url = emulator.vendor_base_url("absorb") + path
        sent = {"x-api-key": KEY, "x-api-version": "2"} if headers is None else headers
        async with http.request(method, url, params=params, headers=sent, json=body) as response:
            return response.status, await response.json(content_type=None)

    return send


async def log_in(call: Call, key: str = KEY, password: str = PASSWORD) -> str:
    body = {"username": USERNAME, "password": password, "privateKey": key}
    status, token = await call("POST", "/authenticate", headers=_key(key), body=body)
    assert status == 200, token
    assert isinstance(token, str)
    return token


def _key(key: str = KEY) -> dict[str, str]:
    return {"x-api-key": key, "x-api-version": "2"}


@pytest.fixture
async def get(call: Call) -> Call:
    """An authenticated GET: ``await get(path, params)``."""
    token = await log_in(call)

    async def send(path: str, params: Any = ()) -> tuple[int, Any]:
        return await call("GET", path, params, {**_key(), "Authorization": token})

    return send


def assert_error(status: int, body: Any, expected: int) -> None:
    assert status == expected
    assert set(body) == ERROR_KEYS
    assert body["code"] == expected
    assert body["message"]
    assert not any(secret in json.dumps(body) for secret in (KEY, PASSWORD, OTHER_KEY))


async def walk(get: Call, path: str, key: str, limit: int, **params: str) -> list[Any]:
    items: list[Any] = []
    for offset in range(1000):
        status, body = await get(path, {"_limit": str(limit), "_offset": str(offset), **params})
        assert status == 200, body
        assert (body["limit"], body["offset"], body["returnedItems"]) == (
            limit,
            offset,
            len(body[key]),
        )
        if not body[key]:
            return items
        items += body[key]
        assert body["totalItems"] >= len(items)
    raise AssertionError("no end")


# -- login and tokens --------------------------------------------------------------------------


async def test_login_answers_a_token_string_that_opens_the_tenant(call: Call) -> None:
    token = await log_in(call)
    for authorization in (token, f"Bearer {token}"):
        status, body = await call(
            "GET", "/users", headers={**_key(), "Authorization": authorization}
        )
        assert status == 200
        assert body["totalItems"] == len(WORLD.users)


@pytest.mark.parametrize(
    ("headers", "body", "status"),
    [
        (
            {"x-api-version": "2"},
            {"username": USERNAME, "password": PASSWORD, "privateKey": KEY},
            401,
        ),
        (_key("nope"), {"username": USERNAME, "password": PASSWORD, "privateKey": "nope"}, 401),
        ({"x-api-key": KEY}, {"username": USERNAME, "password": PASSWORD, "privateKey": KEY}, 400),
        (_key(), {"username": USERNAME, "password": "wrong", "privateKey": KEY}, 401),
        (_key(), {"username": USERNAME, "password": PASSWORD, "privateKey": OTHER_KEY}, 401),
        (_key(), {"username": USERNAME, "password": "pw-two", "privateKey": KEY}, 401),
        (_key(), {"username": USERNAME, "password": PASSWORD}, 400),
        (_key(), ["not", "an", "object"], 400),
    ],
)
async def test_login_refusals(call: Call, headers: dict[str, str], body: Any, status: int) -> None:
    got, answer = await call("POST", "/authenticate", headers=headers, body=body)
    assert_error(got, answer, status)


async def test_missing_fields_are_listed(call: Call) -> None:
    status, body = await call("POST", "/authenticate", body={"username": USERNAME})
    assert_error(status, body, 400)
    assert body["validations"] == ["password is required.", "privateKey is required."]


async def test_a_new_login_invalidates_the_previous_token(call: Call) -> None:
    first = await log_in(call)
    second = await log_in(call)
    assert first != second
    status, body = await call("GET", "/users", headers={**_key(), "Authorization": first})
    assert_error(status, body, 401)
    status, _ = await call("GET", "/users", headers={**_key(), "Authorization": second})
    assert status == 200
    # Another portal's login leaves this one's token alone.
    await log_in(call, OTHER_KEY, "pw-two")
    status, _ = await call("GET", "/users", headers={**_key(), "Authorization": second})
    assert status == 200


async def test_a_token_only_opens_the_tenant_that_issued_it(call: Call) -> None:
    token = await log_in(call)
    other = await log_in(call, OTHER_KEY, "pw-two")
    status, body = await call("GET", "/users", headers={**_key(OTHER_KEY), "Authorization": token})
    assert_error(status, body, 401)
    status, body = await call("GET", "/users", headers={**_key(OTHER_KEY), "Authorization": other})
    assert [u["id"] for u in body["users"]] == [u.id for u in OTHER_WORLD.users]


@pytest.mark.parametrize("case", ["no token", "bad token", "no key", "no version"])
async def test_reads_need_key_version_and_token(call: Call, case: str) -> None:
    token = await log_in(call)
    headers = {**_key(), "Authorization": token}
    expected = 401
    if case == "no token":
        del headers["Authorization"]
    elif case == "bad token":
        headers["Authorization"] = token[::-1]
    elif case == "no key":
        del headers["x-api-key"]
    else:
        del headers["x-api-version"]
        expected = 400
    status, body = await call("GET", "/users", headers=headers)
    assert_error(status, body, expected)


# -- pages, filters, look-ups ------------------------------------------------------------------


@pytest.mark.parametrize("limit", [7, 20, 1000])
async def test_pages_return_every_record_once(get: Call, limit: int) -> None:
    users = await walk(get, "/users", "users", limit)
    assert [u["id"] for u in users] == [u.id for u in WORLD.users]
    courses = await walk(get, "/courses", "courses", limit)
    assert [c["id"] for c in courses] == [c.id for c in live_courses()]
    seen: list[str] = []
    for course in live_courses():
        seen += [
            e["id"]
            for e in await walk(get, f"/courses/{course.id}/enrollments", "enrollments", limit)
        ]
    assert sorted(seen) == sorted(p.id for p in served_progressions())


async def test_default_page_is_20_and_deprecated_names_work(get: Call) -> None:
    _, body = await get("/users")
    assert (len(body["users"]), body["limit"], body["offset"]) == (20, 20, 0)
    _, body = await get("/users", {"limit": "15", "offset": "2"})
    assert [u["id"] for u in body["users"]] == [u.id for u in WORLD.users[30:40]]


@pytest.mark.parametrize(
    "params",
    [{"_limit": "0"}, {"_limit": "1001"}, {"_limit": "x"}, {"_offset": "-1"}, {"_offset": "65536"}],
)
async def test_out_of_range_paging_is_422(get: Call, params: dict[str, str]) -> None:
    status, body = await get("/users", params)
    assert_error(status, body, 422)
    assert body["validations"]


async def test_id_filter_with_or(get: Call) -> None:
    picked = [WORLD.users[5], WORLD.users[1]]
    clause = " or ".join(f"id eq guid'{u.id.upper()}'" for u in picked)
    _, body = await get("/users", {"_filter": clause})
    assert [u["id"] for u in body["users"]] == [WORLD.users[1].id, WORLD.users[5].id]


async def test_email_filter_with_tolower(get: Call) -> None:
    mixed = next(u for u in WORLD.users if u.email != u.email.lower())
    _, body = await get("/users", {"_filter": f"emailAddress eq '{mixed.email.lower()}'"})
    assert body["users"] == []
    _, body = await get("/users", {"_filter": f"tolower(emailAddress) eq '{mixed.email.lower()}'"})
    assert [u["id"] for u in body["users"]] == [mixed.id]


@pytest.mark.parametrize("path", ["/users", "/courses"])
async def test_date_edited_filter_and_modified_since_agree(get: Call, path: str) -> None:
    key = path[1:]
    rows = WORLD.users if key == "users" else live_courses()
    pivot = sorted(r.changed_at for r in rows)[len(rows) // 2]
    expected = [r.id for r in rows if r.changed_at > pivot]
    stamp = absorb_datetime(pivot)
    by_filter = await walk(get, path, key, 1000, _filter=f"dateEdited gt datetime'{stamp}'")
    by_since = await walk(get, path, key, 1000, modifiedSince=str(stamp))
    assert [r["id"] for r in by_filter] == [r["id"] for r in by_since] == expected


async def test_filters_combine_with_and_not_and_parentheses(get: Call) -> None:
    user = next(u for u in WORLD.users if u.status == "INACTIVE")
    clause = f"(activeStatus eq 1 and not (id ne guid'{user.id}')) or id eq guid'{user.id}'"
    _, body = await get("/users", {"_filter": clause})
    assert [u["id"] for u in body["users"]] == [user.id]


@pytest.mark.parametrize(
    "clause",
    [
        "colour eq 'blue'",
        "id eq",
        "id eq guid'x' or",
        "(id eq 1",
        "startswith(lastName,'a')",
        "id eq datetime'x'",
    ],
)
async def test_bad_filters_are_422(get: Call, clause: str) -> None:
    status, body = await get("/users", {"_filter": clause})
    assert_error(status, body, 422)


async def test_look_ups_and_404s(get: Call) -> None:
    deleted_course = next(c for c in WORLD.courses if c.deleted_at)
    deleted_progression = next(p for p in WORLD.progressions if p.deleted_at)
    orphan = next(p for p in WORLD.progressions if WORLD.course(p.course_id).deleted_at)
    gone_user = next(u for u in WORLD.users if u.deleted_at)
    status, body = await get(f"/users/{gone_user.id}")
    assert (status, body["activeStatus"]) == (200, 1)
    for path in (
        f"/courses/{deleted_course.id}",
        f"/courses/{deleted_course.id}/enrollments",
        f"/enrollments/{deleted_progression.id}",
        f"/enrollments/{orphan.id}",
        "/users/00000000-0000-4000-8000-000000000000",
        "/users/not-a-guid/enrollments",
    ):
        status, body = await get(path)
        assert_error(status, body, 404)


@pytest.mark.parametrize(
    ("method", "path", "status"), [("GET", "/lessons", 404), ("DELETE", "/users", 405)]
)
async def test_unknown_routes_answer_absorbs_body(
    call: Call, method: str, path: str, status: int
) -> None:
    got, body = await call(method, path)
    assert_error(got, body, status)


async def test_user_enrollments_list(get: Call) -> None:
    user = max(WORLD.users, key=lambda u: len(WORLD.progressions_of(u.id)))
    found = await walk(get, f"/users/{user.id}/enrollments", "enrollments", 3)
    assert [e["id"] for e in found] == [p.id for p in served_progressions() if p.user_id == user.id]


async def test_bulk_enrollments_repeated_or_comma_separated(get: Call) -> None:
    users = [u.id for u in WORLD.users[:30]]
    expected = [p.id for p in served_progressions() if p.user_id in users]
    _, repeated = await get("/bulk/studentcourses", [("userIds", u) for u in users])
    _, commas = await get("/bulk/studentcourses", {"userIds": ",".join(users)})
    assert [e["id"] for e in repeated] == [e["id"] for e in commas] == expected
    course = live_courses()[0].id
    params = [("userIds", u) for u in users] + [("courseIds", course)]
    _, both = await get("/bulk/studentcourses", params)
    assert [e["id"] for e in both] == [
        p.id for p in served_progressions() if p.user_id in users and p.course_id == course
    ]
    status, body = await get("/bulk/studentcourses")
    assert_error(status, body, 422)


# -- the encoding rules, field by field --------------------------------------------------------


async def test_user_encoding(get: Call) -> None:
    for user in WORLD.users[:10]:
        status, body = await get(f"/users/{user.id}")
        assert status == 200
        assert body == {
            "id": user.id,
            "departmentId": None,
            "firstName": user.first_name,
            "middleName": None,
            "lastName": user.last_name,
            "username": user.email.lower(),
            "emailAddress": user.email,
            "externalId": user.remote_id,
            "activeStatus": 0 if user.status == "ACTIVE" else 1,
            "isLearner": True,
            "isAdmin": False,
            "dateAdded": absorb_datetime(user.created_at),
            "dateEdited": absorb_datetime(user.changed_at),
            "lastLoginDate": None,
        }


async def test_course_encoding_uses_the_newest_revision(get: Call) -> None:
    assert any(len(c.revisions) > 1 for c in live_courses())
    for course in live_courses():
        _, body = await get(f"/courses/{course.id}")
        newest = course.revisions[-1]
        assert body == {
            "id": course.id,
            "courseType": "OnlineCourse",
            "name": newest.title,
            "description": newest.description,
            "externalId": course.remote_id,
            "activeStatus": 0 if newest.status == "ACTIVE" else 1,
            "dateAdded": absorb_datetime(course.created_at),
            "dateEdited": absorb_datetime(course.changed_at),
        }


def expected_status(row: Any) -> int:
    if row.status == "COMPLETED":
        return 5 if row.score is not None and row.score < 60 else 3
    return {"ENROLLED": 0, "IN_PROGRESS": 1, "DROPPED": 4}[row.status]


async def test_enrollment_encoding(get: Call) -> None:
    _, found = await get("/bulk/studentcourses", [("userIds", u.id) for u in WORLD.users])
    by_id = {e["id"]: e for e in found}
    assert sorted(by_id) == sorted(p.id for p in served_progressions())
    assert {e["status"] for e in found} == {0, 1, 3, 4, 5}
    for row in served_progressions():
        body = by_id[row.id]
        learner = WORLD.user(row.user_id)
        assert body["courseId"] == row.course_id
        assert body["courseName"] == WORLD.course(row.course_id).revisions[-1].title
        assert body["courseVersionId"] == row.revision_id
        assert (body["userId"], body["fullName"]) == (
            row.user_id,
            f"{learner.first_name} {learner.last_name}",
        )
        assert body["status"] == expected_status(row)
        assert body["progress"] == (row.progress_percent if row.progress_percent is not None else 0)
        assert body["score"] == row.score
        assert body["timeSpentTicks"] == (row.time_spent_seconds or 0) * 10_000_000
        assert (body["dateAdded"], body["dateCompleted"], body["dateDue"], body["dateEdited"]) == (
            absorb_datetime(row.enrolled_at),
            absorb_datetime(row.completed_at),
            absorb_datetime(row.due_at),
            absorb_datetime(row.changed_at),
        )
        assert body["isActive"] is True
    status, one = await get(f"/enrollments/{found[0]['id']}")
    assert (status, one) == (200, found[0])


def test_time_spent_and_dates_look_like_absorbs() -> None:
    row = next(p for p in served_progressions() if (p.time_spent_seconds or 0) > 3600)
    encoded = enrollment(WORLD, row)
    seconds = row.time_spent_seconds or 0
    assert (
        encoded["timeSpent"]
        == f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    )
    assert encoded["dateAdded"].endswith("Z")
    assert len(encoded["dateAdded"]) == len("2026-01-02T03:04:05.678Z")
