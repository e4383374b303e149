"""SkilljarConnector over mocked HTTP: requests it sends, links it follows, errors it raises."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aioresponses import CallbackResult
from yarl import URL

from connectors.base import ListQuery
from connectors.errors import (
    ConnectorError,
    VendorAuthError,
    VendorBadResponse,
    VendorNotFound,
    VendorRateLimited,
    VendorRejectedRequest,
    VendorUnavailable,
)
from connectors.model import ProgressionStatus
from connectors.skilljar import SkilljarConnector
from tests.connectors.fixtures import load_fixture, with_field
from tests.connectors.skilljar.env import (
    MAX_CONCURRENCY,
    PUBLISHED,
    SKILLJAR_API_KEY,
    SKILLJAR_BASE_URL,
    SKILLJAR_BASIC,
    SKILLJAR_DOMAIN,
    SKILLJAR_SOURCE,
    url,
)
from tests.connectors.strict_mock import CompatClientResponse, StrictAioresponses

ANN, BO = "3t1q2gxpd8w5", "8kd02mzqf7r1"
PRIVACY, FORKLIFT = "c9x8y7z6w5v4", "c5c5c5c5c5c5"
WALK = "1000"  # the page size of walks


def page_of(name: str, *, next_link: str | None = None, **edits: Any) -> dict[str, Any]:
    page = with_field(load_fixture("skilljar", name), "next", next_link)
    for key, value in edits.items():
        page = with_field(page, key, value)
    return page


def fixture_results(name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = load_fixture("skilljar", name)["results"]
    return items


class InFlight:
    """A mock callback answering ``reply(url)`` slowly, recording the peak of parallel calls."""

    def __init__(self, reply: Callable[[URL], Any]) -> None:
        self.reply, self.now, self.peak = reply, 0, 0

    async def respond(self, request_url: URL, **_: Any) -> CallbackResult:
        self.now += 1
        self.peak = max(self.peak, self.now)
        await asyncio.sleep(0.01)
        self.now -= 1
        status, body = self.reply(request_url)
        return CallbackResult(status=status, payload=body, response_class=CompatClientResponse)


def body(name: str) -> dict[str, Any]:
    return load_fixture("skilljar", name)


def user_item(user_id: str) -> dict[str, Any]:
    item = fixture_results("users")[0]
    return with_field(item, "user.id", user_id)


# -- auth and health -----------------------------------------------------------------------


async def test_every_call_sends_basic_auth_with_the_key_and_an_empty_password(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url("/v1/ping"), body="")
    mock_http.get(url(f"/v1/users/{ANN}"), payload=user_item(ANN))
    await skilljar.check_health()
    await skilljar.fetch_users([ANN])
    for call in mock_http.calls:
        assert call.headers["Authorization"] == SKILLJAR_BASIC
        assert call.headers["Accept"] == "application/json"
    assert base64.b64decode(SKILLJAR_BASIC.split()[1]) == f"{SKILLJAR_API_KEY}:".encode()
    assert [c.url.path for c in mock_http.calls] == ["/v1/ping", f"/v1/users/{ANN}"]


async def test_a_rejected_key_is_final_and_never_retried(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses, slept: list[float]
) -> None:
    mock_http.get(
        url("/v1/ping"), status=401, payload=load_fixture("skilljar", "error-unauthorized")
    )
    with pytest.raises(VendorAuthError) as caught:
        await skilljar.check_health()
    assert (caught.value.code, caught.value.vendor_code) == (
        "SOURCE_AUTH_FAILED",
        "authentication_failed",
    )
    assert (len(mock_http.calls), slept) == (1, [])


def test_identity_is_the_domain_and_nothing_secret(skilljar: SkilljarConnector) -> None:
    assert (skilljar.name, skilljar.kind, skilljar.tenant) == (
        SKILLJAR_SOURCE,
        "skilljar",
        SKILLJAR_DOMAIN,
    )
    assert SKILLJAR_API_KEY not in repr(skilljar._http)
    assert SKILLJAR_API_KEY not in repr(vars(skilljar))


# -- one page at a time --------------------------------------------------------------------


async def test_users_pages_follow_next_links_to_the_end(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url("/v1/users", page_size="2"), payload=load_fixture("skilljar", "users"))
    first = await skilljar.list_users(ListQuery(), None, 2)
    assert [u.id for u in first.items] == [ANN, BO]
    assert first.total_count == 3
    assert first.next_token == "/v1/users?cursor=cD0yMDIz&page_size=2"

    last = page_of("users", results=[user_item("zz9zz9zz9zz9")])
    mock_http.get(url("/v1/users", cursor="cD0yMDIz", page_size="2"), payload=last)
    second = await skilljar.list_users(ListQuery(), first.next_token, 2)
    assert [u.id for u in second.items] == ["zz9zz9zz9zz9"]
    assert second.next_token is None


@pytest.mark.parametrize(("size", "sent"), [(500, "100"), (0, "1"), (37, "37")])
async def test_page_size_is_clamped_to_what_we_ask_skilljar_for(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses, size: int, sent: str
) -> None:
    mock_http.get(url("/v1/users", page_size=sent), payload=page_of("users"))
    await skilljar.list_users(ListQuery(), None, size)


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/v1/users?page=2",
        "http://api.skilljar.com/v1/users?page=2",
        "https://api.skilljar.com:8443/v1/users?page=2",
        "https://api.skilljar.com.evil.example/v1/users",
        "https://api.skilljar.com/v1/courses?page=2",
        "/v1/users?page=2",
    ],
)
async def test_a_next_link_elsewhere_is_a_bad_response(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses, link: str
) -> None:
    mock_http.get(url("/v1/users", page_size="2"), payload=page_of("users", next_link=link))
    with pytest.raises(VendorBadResponse) as caught:
        await skilljar.list_users(ListQuery(), None, 2)
    assert caught.value.code == "SOURCE_BAD_RESPONSE"
    assert len(mock_http.calls) == 1  # the link was not followed


@pytest.mark.parametrize("token", ["/v1/courses?page=2", "https://evil.example/v1/users"])
async def test_a_token_of_another_list_is_refused_without_a_call(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses, token: str
) -> None:
    with pytest.raises(VendorRejectedRequest):
        await skilljar.list_users(ListQuery(), token, 10)
    assert mock_http.calls == []


JUNE = datetime(2025, 6, 1, tzinfo=UTC)


# A naive moment is UTC, as the other connectors read it.
@pytest.mark.parametrize("since", [JUNE, JUNE.replace(tzinfo=None)])
async def test_updated_after_is_applied_after_reading_and_drops_the_count(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses, since: datetime
) -> None:
    mock_http.get(url("/v1/users", page_size="2"), payload=load_fixture("skilljar", "users"))
    page = await skilljar.list_users(ListQuery(updated_after=since), None, 2)
    assert [u.id for u in page.items] == [ANN]  # Bo's latest activity is older
    assert page.total_count is None
    assert page.next_token is not None  # the list goes on: filtering is no end
    assert mock_http.calls[0].params == {"page_size": "2"}


async def test_courses_carry_the_domains_published_courses_as_revisions(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    link = f"{SKILLJAR_BASE_URL}/v1/courses?page=2&page_size=50"
    mock_http.get(url("/v1/courses", page_size="50"), payload=page_of("courses", next_link=link))
    half = page_of(
        "published-courses",
        next_link=f"{SKILLJAR_BASE_URL}{PUBLISHED}?page=2&page_size={WALK}",
        results=fixture_results("published-courses")[:1],
    )
    rest = page_of("published-courses", results=fixture_results("published-courses")[1:])
    mock_http.get(url(PUBLISHED, page_size=WALK), payload=half)
    mock_http.get(url(PUBLISHED, page="2", page_size=WALK), payload=rest)
    page = await skilljar.list_courses(ListQuery(), None, 50)
    privacy, forklift = page.items
    assert [r.id for r in privacy.revisions] == ["p1a2b3c4d5e6", "p0old0000001"]
    assert [r.id for r in forklift.revisions] == ["p2b2b2b2b2b2"]
    assert (page.total_count, page.next_token) == (2, "/v1/courses?page=2&page_size=50")


async def test_a_repeated_next_link_ends_a_walk_as_a_bad_response(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    loop = page_of("published-courses", next_link=f"{SKILLJAR_BASE_URL}{PUBLISHED}?page=2")
    mock_http.get(url(PUBLISHED, page_size=WALK), payload=loop)
    mock_http.get(url(PUBLISHED, page="2"), payload=loop)
    mock_http.get(url(f"/v1/courses/{PRIVACY}"), payload=fixture_results("courses")[0])
    with pytest.raises(VendorBadResponse, match="repeated"):
        await skilljar.fetch_courses([PRIVACY])


async def test_progressions_page_is_one_users_page_and_one_call_per_user(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url("/v1/users", page_size="2"), payload=load_fixture("skilljar", "users"))
    mock_http.get(
        url(f"/v1/users/{ANN}/published-courses", page_size=WALK),
        payload=load_fixture("skilljar", "progress"),
    )
    mock_http.get(url(f"/v1/users/{BO}/published-courses", page_size=WALK), payload=[])
    page = await skilljar.list_progressions(ListQuery(), None, 2)
    assert [p.id for p in page.items] == [
        f"{ANN}:p1a2b3c4d5e6",
        f"{ANN}:p0old0000001",
        f"{ANN}:p2b2b2b2b2b2",
    ]
    assert page.next_token == "/v1/users?cursor=cD0yMDIz&page_size=2"  # the users page's
    assert page.total_count is None
    assert len(mock_http.calls) == 3


async def test_skills_cost_no_call(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    assert (await skilljar.list_skills(ListQuery(), None, 10)).items == []
    assert await skilljar.fetch_skills(["x"]) == {}
    assert mock_http.calls == []


# -- look-ups: one call per ID under one bound ---------------------------------------------


async def test_look_ups_fan_out_under_the_bound_and_404_means_absent(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    def reply(request_url: URL) -> tuple[int, Any]:
        if request_url.name == "missing":
            return 404, load_fixture("skilljar", "error-not-found")
        return 200, user_item(request_url.name)

    slow = InFlight(reply)
    ids = [f"user{n:02d}" for n in range(10)]
    for user_id in [*ids, "missing"]:
        mock_http.get(url(f"/v1/users/{user_id}"), callback=slow.respond)
    found = await skilljar.fetch_users([*ids, "missing", ids[0], "not/an-id"])
    assert list(found) == ids
    assert found[ids[3]].id == ids[3]
    assert len(mock_http.calls) == 11  # one per distinct ID; none for what cannot be one
    assert slow.peak == MAX_CONCURRENCY


async def test_the_bound_is_shared_by_every_look_up_of_the_connector(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    slow = InFlight(lambda u: (200, user_item(u.name)))
    ids = [f"user{n:02d}" for n in range(8)]
    for user_id in ids:
        mock_http.get(url(f"/v1/users/{user_id}"), callback=slow.respond)
    await asyncio.gather(skilljar.fetch_users(ids[:4]), skilljar.fetch_users(ids[4:]))
    assert slow.peak == MAX_CONCURRENCY


async def test_fetch_courses_reads_each_course_and_the_published_list_once(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url(f"/v1/courses/{PRIVACY}"), payload=fixture_results("courses")[0])
    mock_http.get(url("/v1/courses/gone00000000"), status=404, payload={"detail": "Not found."})
    mock_http.get(url(PUBLISHED, page_size=WALK), payload=page_of("published-courses"))
    found = await skilljar.fetch_courses([PRIVACY, "gone00000000", PRIVACY])
    assert list(found) == [PRIVACY]
    assert len(found[PRIVACY].revisions) == 2
    assert await skilljar.fetch_courses([]) == {}
    assert len(mock_http.calls) == 3


async def test_fetch_progressions_reads_each_key_and_keeps_only_the_domain(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    ours, theirs, _dropped, _enrolled = fixture_results("progress")
    mock_http.get(url(f"/v1/users/{ANN}/published-courses/p1a2b3c4d5e6"), payload=ours)
    mock_http.get(url(f"/v1/users/{ANN}/published-courses/p7q7q7q7q7q7"), payload=theirs)
    mock_http.get(url(f"/v1/users/{BO}/published-courses/p1a2b3c4d5e6"), status=404)
    keys = [f"{ANN}:p1a2b3c4d5e6", f"{ANN}:p7q7q7q7q7q7", f"{BO}:p1a2b3c4d5e6", "foreign-key"]
    found = await skilljar.fetch_progressions(keys)
    assert list(found) == [f"{ANN}:p1a2b3c4d5e6"]
    assert found[keys[0]].status is ProgressionStatus.COMPLETED
    assert len(mock_http.calls) == 3


async def test_progressions_of_users_answer_every_user_once(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(
        url(f"/v1/users/{ANN}/published-courses", page_size=WALK),
        payload=fixture_results("progress"),  # the spec's bare array
    )
    mock_http.get(
        url("/v1/users/gone00000000/published-courses", page_size=WALK),
        status=404,
        payload=load_fixture("skilljar", "error-not-found"),
    )
    grouped = await skilljar.fetch_progressions_of_users([ANN, "gone00000000", ANN, "bad id"])
    assert list(grouped) == [ANN, "gone00000000", "bad id"]
    assert [p.revision_id for p in grouped[ANN]] == ["p1a2b3c4d5e6", "p0old0000001", "p2b2b2b2b2b2"]
    assert grouped["gone00000000"] == grouped["bad id"] == []
    assert len(mock_http.calls) == 2


async def test_progressions_of_courses_go_through_published_courses_and_enrolments(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    privacy_published = fixture_results("published-courses")[:2]
    mock_http.get(
        url(PUBLISHED, course__id=PRIVACY, page_size=WALK),
        payload=page_of("published-courses", results=privacy_published),
    )
    mock_http.get(
        url(PUBLISHED, course__id="nocourse0000", page_size=WALK),
        payload=page_of("published-courses", results=[], count=0),
    )
    enrolments = load_fixture("skilljar", "enrollments")
    mock_http.get(url(f"{PUBLISHED}/p1a2b3c4d5e6/enrollments", page_size=WALK), payload=enrolments)
    mock_http.get(url(f"{PUBLISHED}/p0old0000001/enrollments", page_size=WALK), payload=enrolments)
    mock_http.get(
        url(f"/v1/users/{ANN}/published-courses", page_size=WALK),
        payload=load_fixture("skilljar", "progress"),
    )
    mock_http.get(url(f"/v1/users/{BO}/published-courses", page_size=WALK), payload=[])
    grouped = await skilljar.fetch_progressions_of_courses([PRIVACY, "nocourse0000"])
    assert [p.id for p in grouped[PRIVACY]] == [f"{ANN}:p1a2b3c4d5e6", f"{ANN}:p0old0000001"]
    assert grouped["nocourse0000"] == []
    assert len(mock_http.calls) == 6  # 2 published lists, 2 enrolment lists, 2 distinct users


async def test_users_by_email_send_the_filter_and_match_case_insensitively(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    page = page_of("users", results=fixture_results("users")[:1])
    mock_http.get(url("/v1/users", email="ann.lee@acme.com", page_size=WALK), payload=page)
    mock_http.get(url("/v1/users", email="nobody@acme.com", page_size=WALK), payload=[])
    found = await skilljar.fetch_users_by_email(["ann.lee@acme.com", "nobody@acme.com"])
    assert [u.id for u in found["ann.lee@acme.com"]] == [ANN]  # Skilljar spells it Ann.Lee@Acme.com
    assert found["nobody@acme.com"] == []


# -- errors --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorCase:
    responses: list[dict[str, Any]]
    raised: type[ConnectorError]
    status: int | None
    vendor_code: str | None = None
    calls: int = 1
    retry_after: float | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)


ERROR_CASES = {
    "401": ErrorCase(
        [{"status": 401, "payload": body("error-unauthorized")}],
        VendorAuthError,
        401,
        "authentication_failed",
    ),
    "403 read-only key": ErrorCase(
        [{"status": 403, "payload": body("error-forbidden")}],
        VendorAuthError,
        403,
        "permission_denied",
    ),
    "404": ErrorCase(
        [{"status": 404, "payload": body("error-not-found")}], VendorNotFound, 404, "not_found"
    ),
    "429 with a long Retry-After": ErrorCase(
        [{"status": 429, "payload": body("error-throttled"), "headers": {"Retry-After": "90"}}],
        VendorRateLimited,
        429,
        "throttled",
        retry_after=90,
    ),
    "500 every time": ErrorCase([{"status": 500, "repeat": 3}], VendorUnavailable, 500, calls=3),
    "502 html page": ErrorCase(
        [
            {
                "status": 502,
                "body": "<html>Bad Gateway</html>",
                "content_type": "text/html",
                "repeat": 3,
            }
        ],
        VendorUnavailable,
        502,
        calls=3,
    ),
    "400 with field errors": ErrorCase(
        [{"status": 400, "payload": {"page_size": ["A valid integer is required."]}}],
        VendorRejectedRequest,
        400,
    ),
    "200 not json": ErrorCase(
        [{"status": 200, "body": "<html>maintenance</html>", "content_type": "text/html"}],
        VendorBadResponse,
        200,
    ),
    "200 with an envelope of the wrong shape": ErrorCase(
        [{"status": 200, "payload": {"results": {"user": {"email": "x@y.z"}}}}],
        VendorBadResponse,
        200,
    ),
}


@pytest.mark.parametrize("case", list(ERROR_CASES.values()), ids=list(ERROR_CASES))
async def test_error_classification(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses, slept: list[float], case: ErrorCase
) -> None:
    for response in case.responses:
        mock_http.get(url("/v1/users", page_size="10"), **response)
    with pytest.raises(case.raised) as caught:
        await skilljar.list_users(ListQuery(), None, 10)
    error = caught.value
    assert type(error) is case.raised
    assert error.code == case.raised.code
    assert (error.status, error.vendor_code, error.retry_after) == (
        case.status,
        case.vendor_code,
        case.retry_after,
    )
    assert (error.source, error.vendor, error.method, error.path) == (
        SKILLJAR_SOURCE,
        "skilljar",
        "GET",
        "/v1/users",
    )
    assert len(mock_http.calls) == case.calls
    assert len(slept) == case.calls - 1
    for text in (str(error), repr(error), error.message):
        assert SKILLJAR_API_KEY not in text
        assert SKILLJAR_BASIC.split()[1] not in text


async def test_a_short_retry_after_is_waited_for_then_retried(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses, slept: list[float]
) -> None:
    target = url(f"/v1/users/{ANN}")
    mock_http.get(target, status=429, payload=body("error-throttled"), headers={"Retry-After": "2"})
    mock_http.get(target, payload=user_item(ANN))
    assert list(await skilljar.fetch_users([ANN])) == [ANN]
    assert slept == [2.0]


async def test_a_failure_in_a_fan_out_fails_the_look_up_after_every_call_ended(
    skilljar: SkilljarConnector, mock_http: StrictAioresponses
) -> None:
    slow = InFlight(lambda u: (200, user_item(u.name)))
    mock_http.get(url("/v1/users/aaa"), status=403, payload=body("error-forbidden"))
    for user_id in ("bbb", "ccc", "ddd"):
        mock_http.get(url(f"/v1/users/{user_id}"), callback=slow.respond)
    with pytest.raises(VendorAuthError):
        await skilljar.fetch_users(["aaa", "bbb", "ccc", "ddd"])
    assert slow.now == 0
