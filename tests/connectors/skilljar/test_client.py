"""SkilljarConnector over mocked HTTP: requests it sends, links it follows, errors it raises."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aioresponses import CallbackResult
from pydantic import SecretStr
from yarl import URL

from connectors._http import RetryPolicy
from connectors.base import ListQuery
from connectors.errors import VendorAuthError, VendorBadResponse, VendorRateLimited
from connectors.skilljar import SkilljarConnector
from tests.connectors.fixtures import load_fixture
from tests.connectors.strict_mock import CompatClientResponse, StrictAioresponses

BASE = "https://api.skilljar.com"
KEY = "sk-live-abcdeg"
DOMAIN = "academy.acme.com"
MAX_CONCURRENCY = 3


def url(path: str, **params: str) -> URL:
    return URL(BASE + path).with_query(params)


@pytest.fixture
async def skilljar(
    mock_http: StrictAioresponses, slept: list[float]
) -> AsyncIterator[SkilljarConnector]:
    connector = SkilljarConnector(
        name="academy",
        base_url=BASE,
        api_key=SecretStr(KEY),
        domain=DOMAIN,
        max_concurrency=MAX_CONCURRENCY,
        retry=RetryPolicy(max_attempts=2, base_delay=0, max_delay=0),
    )
    await connector.open()
    try:
        yield connector
    finally:
        await connector.close()


async def test_basic_auth_with_the_key_and_an_empty_password(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url("/v1/ping"), body="")
    await skilljar.check_health()
    sent = mock_http.calls[0].headers["Authorization"]
    # Skilljar's own example: key sk-live-abcdeg → c2stbGl2ZS1hYmNkZWc6
    assert sent == "Basic c2stbGl2ZS1hYmNkZWc6"
    assert base64.b64decode(sent.split()[1]) == f"{KEY}:".encode()


async def test_users_page_follows_the_next_link_as_our_token(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url("/v1/users", page_size="2"), payload=load_fixture("skilljar", "users"))
    page = await skilljar.list_users(ListQuery(), None, 2)
    assert [u.id for u in page.items] == ["3t1q2gxpd8w5", "8kd02mzqf7r1"]
    assert page.total_count == 3
    assert page.next_token == "/v1/users?cursor=cD0yMDIz&page_size=2"

    last = {**load_fixture("skilljar", "users"), "next": None, "results": []}
    mock_http.get(url("/v1/users", cursor="cD0yMDIz", page_size="2"), payload=last)
    assert (await skilljar.list_users(ListQuery(), page.next_token, 2)).next_token is None


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/v1/users?page=2",
        "http://api.skilljar.com/v1/users?page=2",
        "https://api.skilljar.com.evil.example/v1/users",
    ],
)
async def test_a_next_link_to_another_host_is_refused(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses, link: str
) -> None:
    page = {**load_fixture("skilljar", "users"), "next": link}
    mock_http.get(url("/v1/users", page_size="2"), payload=page)
    with pytest.raises(VendorBadResponse, match="outside the API"):
        await skilljar.list_users(ListQuery(), None, 2)


async def test_updated_after_is_applied_after_reading_and_drops_the_count(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url("/v1/users", page_size="2"), payload=load_fixture("skilljar", "users"))
    query = ListQuery(updated_after=datetime(2025, 6, 1, tzinfo=UTC))
    page = await skilljar.list_users(query, None, 2)
    assert [u.id for u in page.items] == ["3t1q2gxpd8w5"]
    assert page.total_count is None
    assert "updated_after" not in str(mock_http.calls[0].url)


async def test_progressions_of_users_keep_only_the_configured_domain(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(
        url("/v1/users/u1/published-courses", page_size="100"),
        payload=load_fixture("skilljar", "progress"),
    )
    mock_http.get(
        url("/v1/users/gone/published-courses", page_size="100"),
        status=404,
        payload={"detail": "Not found."},
    )
    grouped = await skilljar.fetch_progressions_of_users(["u1", "gone", "u1"])
    assert list(grouped) == ["u1", "gone"]
    assert [p.revision_id for p in grouped["u1"]] == ["p1a2b3c4d5e6", "p0old0000001"]
    assert grouped["gone"] == []


async def test_look_ups_fan_out_under_the_bound_and_404_means_absent(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    in_flight, peak = 0, 0
    template = load_fixture("skilljar", "users")["results"][0]

    async def slow(request_url: URL, **_: Any) -> CallbackResult:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        item = {**template, "user": {**template["user"], "id": request_url.name}}
        return CallbackResult(payload=item, response_class=CompatClientResponse)

    ids = [f"user{n:02d}" for n in range(10)]
    for user_id in ids:
        mock_http.get(url(f"/v1/users/{user_id}"), callback=slow)
    mock_http.get(url("/v1/users/missing"), status=404, payload={"detail": "Not found."})
    found = await skilljar.fetch_users([*ids, "missing"])
    assert list(found) == ids
    assert peak == MAX_CONCURRENCY


async def test_courses_carry_the_domains_published_courses_as_revisions(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(
        url("/v1/courses", page="1", page_size="50"), payload=load_fixture("skilljar", "courses")
    )
    mock_http.get(
        url(f"/v1/domains/{DOMAIN}/published-courses", page_size="100"),
        payload=load_fixture("skilljar", "published-courses"),
    )
    page = await skilljar.list_courses(ListQuery(), None, 50)
    (course,) = page.items
    assert [r.id for r in course.revisions] == ["p1a2b3c4d5e6", "p0old0000001"]
    assert page.total_count == 1


async def test_skills_cost_no_call(skilljar: SkilljarConnector) -> None:
    assert (await skilljar.list_skills(ListQuery(), None, 10)).items == []
    assert await skilljar.fetch_skills(["x"]) == {}


async def test_errors_are_classified_without_the_key(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url("/v1/ping"), status=401, payload={"detail": "Invalid username/password."})
    with pytest.raises(VendorAuthError) as auth:
        await skilljar.check_health()
    assert auth.value.code == "SOURCE_AUTH_FAILED"
    mock_http.get(url("/v1/ping"), status=429, headers={"Retry-After": "90"}, repeat=True)
    with pytest.raises(VendorRateLimited) as limited:
        await skilljar.check_health()
    assert limited.value.retry_after == 90
    for error in (auth.value, limited.value):
        assert KEY not in str(error)
        assert KEY not in repr(error)
    assert KEY not in repr(skilljar.__dict__)
