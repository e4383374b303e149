"""StackOneConnector over mocked HTTP: requests it sends, pages it follows, errors it raises."""

from __future__ import annotations

import asyncio
import base64
import copy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aiohttp
import pytest
from aioresponses import CallbackResult
from pydantic import SecretStr
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
from connectors.records import BadRecords, collect_bad_records
from connectors.stackone import StackOneConnector
from tests.connectors.fixtures import load_fixture
from tests.connectors.stackone.conftest import MAX_CONCURRENCY
from tests.connectors.stackone.env import (
    LMS,
    STACKONE_ACCOUNT_ID,
    STACKONE_API_KEY,
    STACKONE_SOURCE,
)
from tests.connectors.strict_mock import CompatClientResponse, StrictAioresponses

JOHN = "c28xyrc55866bvuv"
ANA = "7hQe3wR9tYu2iOp5aSd8fGh"
CHER = "4KmN8bV2cX6zL9qW3eR7tY1"
SOFTWARE = "26vafvWSRmbhNcxJYqjCzuJg"
PRIVACY = "5Fq2mWn8RkTz3LpXc7VbHd9Y"
FORKLIFT = "8TrE4wQa1SdF6gHj2KlZ5xCv"
VIDEO = "16873-SOFTWARE-ENG-COURSE"
LESSON = "16874-SOFTWARE-ENG-COURSE"
FULL = {"page_size": "100"}  # what every walk sends


def url(path: str, params: dict[str, str] | None = None) -> URL:
    """The exact URL of a call: aioresponses compares it with sorted query parameters."""
    return URL(LMS + path).with_query(params or {})


def page(name: str, *ids: str, next_cursor: str | None = None) -> dict[str, Any]:
    """A recorded list page keeping the records with these IDs (all when none given)."""
    recorded = load_fixture("stackone", name)
    by_id = {item["id"]: item for item in recorded["data"]}
    recorded["data"] = [by_id[i] for i in ids] if ids else recorded["data"]
    recorded["next"] = next_cursor
    return recorded


def item(name: str, record_id: str) -> dict[str, Any]:
    """The single-record envelope of one recorded record."""
    (record,) = page(name, record_id)["data"]
    return {"data": record}


def of_user(records: dict[str, Any], user_id: str) -> dict[str, Any]:
    """A page whose records all belong to ``user_id``."""
    edited = copy.deepcopy(records)
    for record in edited["data"]:
        record["user_id"] = user_id
    return edited


def error(name: str) -> dict[str, Any]:
    return load_fixture("stackone", f"error-{name}")


def assert_safe(exc: BaseException, path: str) -> None:
    """Names the source and path; never the key, also not down the cause chain."""
    assert STACKONE_SOURCE in str(exc)
    assert path in str(exc)
    basic = base64.b64encode(f"{STACKONE_API_KEY}:".encode()).decode()
    chain: BaseException | None = exc
    while chain is not None:
        for secret in (STACKONE_API_KEY, basic):
            assert secret not in str(chain)
            assert secret not in repr(chain)
        chain = chain.__cause__ or chain.__context__


# -- requests we send --------------------------------------------------------------------------


async def test_every_call_carries_basic_key_account_and_user_agent(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url("/users", {"page_size": "10"}), payload=page("users", JOHN))
    await stackone.list_users(ListQuery(), None, 10)
    (call,) = mock_http.calls
    scheme, _, encoded = call.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == f"{STACKONE_API_KEY}:"  # empty password
    assert call.headers["x-account-id"] == STACKONE_ACCOUNT_ID
    assert call.headers["User-Agent"].startswith("lms-graph/")
    assert stackone.tenant == STACKONE_ACCOUNT_ID


async def test_list_users_sends_filter_and_cursor_and_returns_next(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    params = {
        "page_size": "50",
        "next": "cursor-1",
        "filter[updated_after]": "2024-01-02T03:04:05.678Z",
    }
    mock_http.get(url("/users", params), payload=page("users", JOHN, ANA, next_cursor="cursor-2"))
    naive = datetime(2024, 1, 2, 3, 4, 5, 678901)  # noqa: DTZ001 - naive on purpose: UTC
    query = ListQuery(updated_after=naive, include_deleted=True)
    result = await stackone.list_users(query, "cursor-1", 50)
    assert [user.id for user in result.items] == [JOHN, ANA]
    assert result.next_token == "cursor-2"
    assert result.total_count is None  # StackOne does not count
    assert mock_http.calls[0].params == params  # no include_deleted: nothing is deleted


@pytest.mark.parametrize(
    ("moment", "wire"),
    [
        (datetime(2024, 1, 2, 3, 4, 5, 999999, tzinfo=UTC), "2024-01-02T03:04:05.999Z"),
        (
            datetime(2024, 1, 2, 1, 4, 5, 120000, tzinfo=timezone(timedelta(hours=2))),
            "2024-01-01T23:04:05.120Z",
        ),
    ],
)
async def test_updated_after_is_sent_in_utc(
    stackone: StackOneConnector, mock_http: StrictAioresponses, moment: datetime, wire: str
) -> None:
    params = {"page_size": "5", "filter[updated_after]": wire}
    mock_http.get(url("/courses", params), payload=page("courses"))
    assert len((await stackone.list_courses(ListQuery(updated_after=moment), None, 5)).items) == 3


@pytest.mark.parametrize(("size", "sent"), [(0, "1"), (-3, "1"), (100, "100"), (500, "100")])
async def test_page_size_is_clamped_to_1_to_100(
    stackone: StackOneConnector, mock_http: StrictAioresponses, size: int, sent: str
) -> None:
    mock_http.get(url("/skills", {"page_size": sent}), payload=page("skills"))
    await stackone.list_skills(ListQuery(), None, size)


async def test_empty_next_means_last_page(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url("/users", {"page_size": "5"}), payload=page("users", JOHN, next_cursor=""))
    assert (await stackone.list_users(ListQuery(), None, 5)).next_token is None


async def test_each_list_reads_its_endpoint(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url("/courses", {"page_size": "25"}), payload=page("courses", next_cursor="n"))
    mock_http.get(url("/skills", {"page_size": "25"}), payload=page("skills"))
    courses = await stackone.list_courses(ListQuery(), None, 25)
    skills = await stackone.list_skills(ListQuery(), None, 25)
    assert [c.id for c in courses.items] == [SOFTWARE, PRIVACY, FORKLIFT]
    assert courses.next_token == "n"
    assert [s.id for s in skills.items] == ["12345", "67890", "24680"]


async def test_check_health_makes_one_minimal_call(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url("/users", {"page_size": "1"}), payload=page("users", JOHN))
    await stackone.check_health()
    assert len(mock_http.calls) == 1


# -- per-ID look-ups ---------------------------------------------------------------------------


async def test_fetch_users_is_one_get_per_distinct_id_and_404_is_absent(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url(f"/users/{JOHN}"), payload=item("users", JOHN))
    mock_http.get(url(f"/users/{ANA}"), payload=item("users", ANA))
    mock_http.get(url("/users/gone"), status=404, payload=error("not-found"))
    found = await stackone.fetch_users([JOHN, "gone", ANA, JOHN])
    assert list(found) == [JOHN, ANA]
    assert found[ANA].status is not None
    assert len(mock_http.calls) == 3


async def test_ids_that_are_not_path_segments_make_no_call_or_are_quoted(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(URL(f"{LMS}/courses/a%2Fb", encoded=True), status=404, payload=error("not-found"))
    assert await stackone.fetch_courses(["..", ".", "", "a/b"]) == {}
    (call,) = mock_http.calls
    assert call.url.raw_path == "/unified/lms/courses/a%2Fb"


async def test_fetch_courses_and_skills_read_their_endpoints(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url(f"/courses/{PRIVACY}"), payload=item("courses", PRIVACY))
    mock_http.get(url("/skills/12345"), payload=item("skills", "12345"))
    assert [c.title for c in (await stackone.fetch_courses([PRIVACY])).values()] == [
        "Data Privacy Basics"
    ]
    assert list(await stackone.fetch_skills(["12345"])) == ["12345"]


async def test_fetch_without_ids_makes_no_call(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    assert await stackone.fetch_users([]) == {}
    assert await stackone.fetch_progressions_of_users([]) == {}
    assert await stackone.fetch_progressions_of_courses([]) == {}
    assert await stackone.fetch_progressions(["not-a-key"]) == {}
    assert mock_http.calls == []


async def test_fan_out_never_exceeds_max_concurrency(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    in_flight, peak = 0, 0

    async def slow(request_url: URL, **_: Any) -> CallbackResult:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return CallbackResult(
            payload={"data": {"id": request_url.name}}, response_class=CompatClientResponse
        )

    ids = [f"user{n:03d}" for n in range(12)]
    for user_id in ids:
        mock_http.get(url(f"/users/{user_id}"), callback=slow)
    found = await stackone.fetch_users(ids)
    assert list(found) == ids
    assert len(mock_http.calls) == 12
    assert peak == MAX_CONCURRENCY


async def test_404_naming_the_account_is_an_auth_error_not_absent(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url(f"/users/{JOHN}"), status=404, payload=error("account-not-found"))
    with pytest.raises(VendorAuthError) as caught:
        await stackone.fetch_users([JOHN])
    assert caught.value.vendor_code == "ACCOUNT_NOT_FOUND"
    assert caught.value.code == "SOURCE_AUTH_FAILED"
    assert_safe(caught.value, f"/unified/lms/users/{JOHN}")


async def test_users_by_email_filter_one_email_per_call_and_recheck_case(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(
        url("/users", {**FULL, "filter[email]": "ana.cruz@example.com"}),
        payload=page("users", ANA, JOHN),  # a provider that ignores the filter
    )
    mock_http.get(
        url("/users", {**FULL, "filter[email]": "nobody@x.io"}), payload={"next": None, "data": []}
    )
    found = await stackone.fetch_users_by_email(["ana.cruz@example.com", "nobody@x.io"])
    assert [u.id for u in found["ana.cruz@example.com"]] == [ANA]
    assert found["nobody@x.io"] == []


# -- progressions ------------------------------------------------------------------------------


def mock_user_lists(
    mock: StrictAioresponses, user_id: str, assignments: Any, completions: Any
) -> None:
    for kind, body in (("assignments", assignments), ("completions", completions)):
        if isinstance(body, int):
            mock.get(url(f"/users/{user_id}/{kind}", FULL), status=body, payload=error("not-found"))
        else:
            mock.get(url(f"/users/{user_id}/{kind}", FULL), payload=of_user(body, user_id))


async def test_progressions_of_users_join_both_lists_and_resolve_content_once(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    mock_user_lists(mock_http, JOHN, page("assignments"), page("completions"))
    mock_user_lists(
        mock_http,
        ANA,
        page("assignments", "as-in-progress"),
        page("completions", "co-content-only"),
    )
    mock_user_lists(mock_http, "unknown", 404, 404)
    mock_http.get(url(f"/content/{VIDEO}"), payload=load_fixture("stackone", "content"))
    mock_http.get(url(f"/content/{LESSON}"), status=404, payload=error("not-found"))

    grouped = await stackone.fetch_progressions_of_users([JOHN, ANA, "unknown", JOHN])

    assert list(grouped) == [JOHN, ANA, "unknown"]
    assert grouped["unknown"] == []
    assert [p.id for p in grouped[ANA]] == [f"{ANA}:{PRIVACY}", f"{ANA}:{VIDEO}"]
    john = {p.id.split(":")[1]: p for p in grouped[JOHN]}
    assert list(john) == [SOFTWARE, PRIVACY, FORKLIFT, LESSON, "collection-1", VIDEO]
    assert john[SOFTWARE].status is ProgressionStatus.COMPLETED
    assert john[VIDEO].course_id == SOFTWARE  # the content's first course
    assert john[LESSON].course_id is None  # content StackOne does not know
    assert john["collection-1"].course_id is None
    # Two lists per user, and each content item looked up once for both users.
    assert len(mock_http.calls) == 3 * 2 + 2


async def test_per_user_lists_follow_next_past_short_pages(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    empty_with_next = {"next": "p2", "data": []}
    mock_http.get(url(f"/users/{JOHN}/assignments", FULL), payload=empty_with_next)
    mock_http.get(
        url(f"/users/{JOHN}/assignments", {**FULL, "next": "p2"}),
        payload=page("assignments", "as-in-progress"),
    )
    mock_http.get(url(f"/users/{JOHN}/completions", FULL), payload={"next": None, "data": []})
    grouped = await stackone.fetch_progressions_of_users([JOHN])
    assert [p.status for p in grouped[JOHN]] == [ProgressionStatus.IN_PROGRESS]


async def test_records_without_id_are_skipped_counted_and_the_page_stands(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    listed = page("users", JOHN, ANA)
    listed["data"][1:1] = [{"id": None, "name": "Null Id"}, {"name": "No Id"}, "not a record"]
    mock_http.get(url("/users", {"page_size": "10"}), payload=listed)
    notices: list[BadRecords] = []
    collect_bad_records(notices)
    result = await stackone.list_users(ListQuery(), None, 10)
    assert [user.id for user in result.items] == [JOHN, ANA]
    assert [(n.source, n.endpoint, n.count) for n in notices] == [
        (STACKONE_SOURCE, "/unified/lms/users", 3)
    ]


async def test_nested_skill_without_id_is_skipped_and_its_course_kept(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    listed = page("courses", SOFTWARE)
    listed["data"][0]["skills"] = [{"id": None, "name": "?"}, {"id": "sk1", "name": "Sales"}]
    listed["total"] = 12.0
    mock_http.get(url("/courses", {"page_size": "10"}), payload=listed)
    notices: list[BadRecords] = []
    collect_bad_records(notices)
    result = await stackone.list_courses(ListQuery(), None, 10)
    (course,) = result.items
    assert [skill.id for skill in course.skills] == ["sk1"]
    assert result.total_count == 12  # the courses list's `total`
    assert [n.count for n in notices] == [1]


async def test_a_look_up_answering_a_record_without_id_reads_as_absent(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url(f"/users/{JOHN}"), payload={"data": {"id": None, "name": "John"}})
    mock_http.get(url(f"/users/{ANA}"), payload=item("users", ANA))
    notices: list[BadRecords] = []
    collect_bad_records(notices)
    assert list(await stackone.fetch_users([JOHN, ANA])) == [ANA]
    assert [(n.endpoint, n.count) for n in notices] == [(f"/unified/lms/users/{JOHN}", 1)]


async def test_numeric_raw_score_as_in_the_specs_example_is_read(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    done = {
        "id": "c1",
        "user_id": JOHN,
        "learning_object_id": SOFTWARE,
        "learning_object_type": {"value": "course"},
        "score": {"percentage": 87.5, "raw_value": 87},
    }
    mock_http.get(url(f"/users/{JOHN}/assignments", FULL), payload={"next": None, "data": []})
    mock_http.get(url(f"/users/{JOHN}/completions", FULL), payload={"next": None, "data": [done]})
    (progression,) = (await stackone.fetch_progressions_of_users([JOHN]))[JOHN]
    assert progression.score == 87.5
    assert progression.remote_data is not None
    assert progression.remote_data["completion"]["score"]["raw_value"] == "87"


async def test_repeated_next_cursor_is_a_bad_response(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    looping = {"next": "loop", "data": []}
    mock_http.get(url(f"/users/{JOHN}/assignments", FULL), payload=looping)
    mock_http.get(url(f"/users/{JOHN}/assignments", {**FULL, "next": "loop"}), payload=looping)
    mock_http.get(url(f"/users/{JOHN}/completions", FULL), payload={"next": None, "data": []})
    with pytest.raises(VendorBadResponse) as caught:
        await stackone.fetch_progressions_of_users([JOHN])
    assert "repeated" in str(caught.value)
    assert_safe(caught.value, f"/unified/lms/users/{JOHN}/assignments")


async def test_fetch_progressions_reads_each_named_users_lists_once(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    mock_user_lists(
        mock_http,
        JOHN,
        page("assignments", "as-pending", "as-in-progress"),
        page("completions", "co-bare"),
    )
    keys = [f"{JOHN}:{SOFTWARE}", f"{JOHN}:{PRIVACY}", f"{JOHN}:nothing", "malformed"]
    found = await stackone.fetch_progressions(keys)
    assert list(found) == keys[:2]
    assert found[keys[0]].status is ProgressionStatus.COMPLETED
    assert len(mock_http.calls) == 2


async def test_list_progressions_is_one_users_page_and_its_fan_out(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    users = page("users", JOHN, ANA, next_cursor="users-2")
    mock_http.get(url("/users", {"page_size": "2", "next": "users-1"}), payload=users)
    mock_user_lists(
        mock_http,
        JOHN,
        page("assignments", "as-pending", "as-completed"),
        page("completions", "co-course-fail"),
    )
    mock_user_lists(mock_http, ANA, page("assignments", "as-in-progress"), {"data": []})
    since = datetime(2024, 2, 1, tzinfo=UTC)
    result = await stackone.list_progressions(ListQuery(updated_after=since), "users-1", 2)
    # Filtered here on the joined record: the pending one is from 2021.
    assert [p.id for p in result.items] == [f"{JOHN}:{FORKLIFT}", f"{ANA}:{PRIVACY}"]
    assert result.next_token == "users-2"
    assert all("filter[updated_after]" not in call.params for call in mock_http.calls)


async def test_progressions_of_courses_walk_the_global_lists(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url(f"/courses/{SOFTWARE}"), payload=item("courses", SOFTWARE))
    mock_http.get(url(f"/courses/{FORKLIFT}"), payload=item("courses", FORKLIFT))
    mock_http.get(url("/courses/gone"), status=404, payload=error("not-found"))
    mock_http.get(url("/assignments", FULL), payload=page("assignments", next_cursor="a2"))
    mock_http.get(url("/assignments", {**FULL, "next": "a2"}), payload={"data": []})
    mock_http.get(url("/completions", FULL), payload=page("completions"))
    mock_http.get(url(f"/content/{VIDEO}"), payload=load_fixture("stackone", "content"))
    mock_http.get(url(f"/content/{LESSON}"), status=404, payload=error("not-found"))

    grouped = await stackone.fetch_progressions_of_courses([SOFTWARE, FORKLIFT, "gone"])

    assert [p.id for p in grouped[SOFTWARE]] == [f"{JOHN}:{SOFTWARE}", f"{JOHN}:{VIDEO}"]
    assert [p.id for p in grouped[FORKLIFT]] == [f"{JOHN}:{FORKLIFT}"]
    assert grouped["gone"] == []


# -- errors ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorCase:
    responses: list[dict[str, Any]]
    raised: type[ConnectorError]
    calls: int
    status: int | None = None
    vendor_code: str | None = None
    retry_after: float | None = None


ERROR_CASES = {
    "401 bad key, not retried": ErrorCase(
        [{"status": 401, "payload": error("unauthorized")}], VendorAuthError, 1, 401
    ),
    "403 blocked or missing scope": ErrorCase(
        [{"status": 403, "payload": {"statusCode": 403, "message": "Forbidden"}}],
        VendorAuthError,
        1,
        403,
    ),
    "404 unknown account": ErrorCase(
        [{"status": 404, "payload": error("account-not-found")}],
        VendorAuthError,
        1,
        404,
        "ACCOUNT_NOT_FOUND",
    ),
    "412 linked account disabled": ErrorCase(
        [{"status": 412, "payload": error("account-disabled")}], VendorAuthError, 1, 412
    ),
    "412 by its HTTP status, whatever the body says": ErrorCase(
        [{"status": 412, "payload": {"statusCode": 500, "message": "x", "timestamp": "t"}}],
        VendorAuthError,
        1,
        412,
    ),
    "409 conflict is not retried": ErrorCase(
        [{"status": 409, "payload": {"statusCode": 409, "message": "Conflict"}}],
        VendorRejectedRequest,
        1,
        409,
    ),
    "404 unknown account wins over an errorCode": ErrorCase(
        [{"status": 404, "payload": {**error("account-not-found"), "errorCode": "NotFound"}}],
        VendorAuthError,
        1,
        404,
        "ACCOUNT_NOT_FOUND",
    ),
    "422 with StackOne's errorCode": ErrorCase(
        [
            {
                "status": 422,
                "payload": {"statusCode": 422, "message": "Bad", "errorCode": "ValidationError"},
            }
        ],
        VendorRejectedRequest,
        1,
        422,
        "ValidationError",
    ),
    "404 resource on a list": ErrorCase(
        [{"status": 404, "payload": error("not-found")}], VendorNotFound, 1, 404
    ),
    "400 with provider errors": ErrorCase(
        [{"status": 400, "payload": error("bad-request")}], VendorRejectedRequest, 1, 400
    ),
    "501 not supported by the provider": ErrorCase(
        [{"status": 501, "payload": {"statusCode": 501, "message": "Not implemented"}}],
        VendorRejectedRequest,
        1,
        501,
    ),
    "501 by its HTTP status, even with a body naming 503": ErrorCase(
        [{"status": 501, "payload": {"statusCode": 503, "message": "Unavailable"}}],
        VendorRejectedRequest,
        1,
        501,
    ),
    "429 with Retry-After above the policy's maximum": ErrorCase(
        [{"status": 429, "payload": error("rate-limit"), "headers": {"Retry-After": "60"}}],
        VendorRateLimited,
        1,
        429,
        retry_after=60.0,
    ),
    "429 until attempts run out": ErrorCase(
        [{"status": 429, "payload": error("rate-limit"), "repeat": 3}], VendorRateLimited, 3, 429
    ),
    "408 provider timeout is retried": ErrorCase(
        [{"status": 408, "payload": {"statusCode": 408, "message": "Timeout"}, "repeat": 3}],
        VendorUnavailable,
        3,
        408,
    ),
    "502 with an HTML page": ErrorCase(
        [
            {
                "status": 502,
                "body": "<html>bad gateway</html>",
                "content_type": "text/html",
                "repeat": 3,
            }
        ],
        VendorUnavailable,
        3,
        502,
    ),
    "200 not JSON": ErrorCase(
        [{"status": 200, "body": "<html>", "content_type": "text/html"}], VendorBadResponse, 1, 200
    ),
    "200 without data": ErrorCase([{"payload": {"next": None}}], VendorBadResponse, 1, 200),
    "200 with an error body": ErrorCase(
        [{"payload": error("unauthorized")}], VendorBadResponse, 1, 200
    ),
    "200 empty": ErrorCase([{"body": b""}], VendorBadResponse, 1, 200),
    "connection refused": ErrorCase(
        [{"exception": aiohttp.ClientConnectionError(), "repeat": 3}], VendorUnavailable, 3
    ),
    "timeout": ErrorCase([{"exception": TimeoutError(), "repeat": 3}], VendorUnavailable, 3),
}


@pytest.mark.parametrize("case", list(ERROR_CASES.values()), ids=list(ERROR_CASES))
async def test_error_classification(
    stackone: StackOneConnector, mock_http: StrictAioresponses, slept: list[float], case: ErrorCase
) -> None:
    for response in case.responses:
        mock_http.get(url("/users", {"page_size": "10"}), **response)
    with pytest.raises(case.raised) as caught:
        await stackone.list_users(ListQuery(), None, 10)
    exc = caught.value
    assert type(exc) is case.raised
    assert len(mock_http.calls) == case.calls
    assert len(slept) == case.calls - 1
    assert (exc.status, exc.vendor_code, exc.retry_after) == (
        case.status,
        case.vendor_code,
        case.retry_after,
    )
    assert (exc.source, exc.vendor, exc.method, exc.path) == (
        STACKONE_SOURCE,
        "stackone",
        "GET",
        "/unified/lms/users",
    )
    assert_safe(exc, "/unified/lms/users")


async def test_rate_limit_with_short_retry_after_waits_then_succeeds(
    stackone: StackOneConnector, mock_http: StrictAioresponses, slept: list[float]
) -> None:
    target = url("/users", {"page_size": "10"})
    mock_http.get(target, status=429, payload=error("rate-limit"), headers={"Retry-After": "2"})
    mock_http.get(target, payload=page("users", JOHN))
    assert len((await stackone.list_users(ListQuery(), None, 10)).items) == 1
    assert slept == [2.0]


async def test_one_failing_lookup_fails_the_batch_after_the_others_finish(
    stackone: StackOneConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url(f"/users/{JOHN}"), payload=item("users", JOHN))
    mock_http.get(url(f"/users/{ANA}"), status=401, payload=error("unauthorized"))
    mock_http.get(url(f"/users/{CHER}"), payload=item("users", CHER))
    with pytest.raises(VendorAuthError):
        await stackone.fetch_users([JOHN, ANA, CHER])
    assert len(mock_http.calls) == 3


def test_no_credential_in_reprs(stackone: StackOneConnector) -> None:
    text = repr(stackone._http) + repr(stackone._http.auth)
    assert STACKONE_API_KEY not in text
    assert STACKONE_ACCOUNT_ID in text


def test_max_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        StackOneConnector(
            name="s",
            base_url=LMS,
            api_key=SecretStr(STACKONE_API_KEY),
            account_id="a",
            max_concurrency=0,
        )
