"""KomboConnector over mocked HTTP: requests it sends, pages it follows, errors it raises."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aiohttp
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
from connectors.kombo.client import KomboConnector
from connectors.records import BadRecords, collect_bad_records
from tests.connectors.fixtures import (
    load_fixture,
    select,
    with_error_code,
    with_next,
    with_results,
    without_field,
)
from tests.connectors.kombo.env import (
    KOMBO_API_KEY,
    KOMBO_BASE_URL,
    KOMBO_INTEGRATION_ID,
    KOMBO_SOURCE,
)
from tests.connectors.strict_mock import CompatClientResponse, StrictAioresponses

SARAH = "7xPdr68N8kG9EzLwjsN9xyz"
JONAS = "3VbN6mQw9ErT2yUi5OpA8sDf"
OLA = "9KsD4fGh7JkL2zXc5VbN8mQa"
SEED_COURSE = "26vafvWSRmbhNcxJYqjCzuJg"
PRIVACY_COURSE = "5Fq2mWn8RkTz3LpXc7VbHd9Y"
FORKLIFT_COURSE = "8TrE4wQa1SdF6gHj2KlZ5xCv"
SEED_CURSOR = (
    "eyJwYWdlIjoxMiwibm90ZSI6InRoaXMgaXMganVzdCBhbiBleGFtcGxlIGFuZCBub3QgcmVwcmVzZW50"
    "YXRpdmUgZm9yIGEgcmVhbCBjdXJzb3IhIn0="
)


def url(path: str, **params: str) -> URL:
    """The exact URL of a call: aioresponses compares it with sorted query parameters."""
    return URL(KOMBO_BASE_URL + path).with_query(params)


def users_page(*ids: str, next_cursor: str | None = None) -> dict[str, Any]:
    return with_next(select(load_fixture("kombo", "users"), *ids), next_cursor)


def renamed_users(ids: Sequence[str]) -> dict[str, Any]:
    """A users page whose records carry the given IDs (the recorded Sarah, re-identified)."""
    (template,) = select(load_fixture("kombo", "users"), SARAH)["data"]["results"]
    return with_results(load_fixture("kombo", "users"), ({**template, "id": i} for i in ids))


# -- requests we send --------------------------------------------------------------------------


async def test_every_call_carries_bearer_key_and_integration_header(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url("/lms/users", page_size="10"), payload=users_page(SARAH))
    await kombo.list_users(ListQuery(), None, 10)
    (call,) = mock_http.calls
    assert call.headers["Authorization"] == f"Bearer {KOMBO_API_KEY}"
    assert call.headers["X-Integration-Id"] == KOMBO_INTEGRATION_ID


async def test_list_users_sends_every_filter_and_returns_next_token(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(
        url(
            "/lms/users",
            page_size="50",
            cursor="cursor-1",
            updated_after="2024-01-02T03:04:05.678Z",
            include_deleted="true",
        ),
        payload=users_page(SARAH, JONAS, next_cursor="cursor-2"),
    )
    naive = datetime(2024, 1, 2, 3, 4, 5, 678901)  # noqa: DTZ001 - naive on purpose: UTC
    query = ListQuery(updated_after=naive, include_deleted=True)
    page = await kombo.list_users(query, "cursor-1", 50)
    assert [user.id for user in page.items] == [SARAH, JONAS]
    assert page.items[0].email == "sarah.johnson@example.com"
    assert page.next_token == "cursor-2"
    assert page.total_count is None


@pytest.mark.parametrize(
    ("updated_after", "wire"),
    [
        pytest.param(
            datetime(2024, 1, 2, 3, 4, 5),  # noqa: DTZ001 - naive on purpose
            "2024-01-02T03:04:05.000Z",
            id="naive is UTC",
        ),
        pytest.param(
            datetime(2024, 1, 2, 3, 4, 5, 999999, tzinfo=UTC),
            "2024-01-02T03:04:05.999Z",
            id="UTC, ms truncated",
        ),
        pytest.param(
            datetime(2024, 1, 2, 1, 4, 5, 120000, tzinfo=timezone(timedelta(hours=2))),
            "2024-01-01T23:04:05.120Z",
            id="+02:00 converted",
        ),
        pytest.param(
            datetime(2024, 12, 31, 20, 0, tzinfo=timezone(timedelta(hours=-5, minutes=-30))),
            "2025-01-01T01:30:00.000Z",
            id="-05:30 converted",
        ),
    ],
)
async def test_updated_after_is_sent_in_kombo_format(
    kombo: KomboConnector, mock_http: StrictAioresponses, updated_after: datetime, wire: str
) -> None:
    mock_http.get(url("/lms/users", page_size="100", updated_after=wire), payload=users_page(SARAH))
    page = await kombo.list_users(ListQuery(updated_after=updated_after), None, 100)
    assert len(page.items) == 1


async def test_list_without_filters_sends_only_page_size(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url("/lms/users", page_size="100"), payload=users_page(SARAH))
    page = await kombo.list_users(ListQuery(), None, 100)
    (call,) = mock_http.calls
    assert call.params == {"page_size": "100"}
    assert page.next_token is None


@pytest.mark.parametrize(("size", "sent"), [(0, "1"), (-5, "1"), (250, "250"), (1000, "250")])
async def test_page_size_is_clamped_to_kombos_range(
    kombo: KomboConnector, mock_http: StrictAioresponses, size: int, sent: str
) -> None:
    mock_http.get(url("/lms/users", page_size=sent), payload=users_page(SARAH))
    await kombo.list_users(ListQuery(), None, size)


async def test_base64_cursor_round_trips(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(
        url("/lms/users", page_size="5", cursor=SEED_CURSOR),
        payload=users_page(JONAS, next_cursor=SEED_CURSOR[::-1]),
    )
    page = await kombo.list_users(ListQuery(), SEED_CURSOR, 5)
    (call,) = mock_http.calls
    assert call.params["cursor"] == SEED_CURSOR
    assert page.next_token == SEED_CURSOR[::-1]


async def test_empty_next_cursor_means_last_page(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url("/lms/users", page_size="5"), payload=users_page(SARAH, next_cursor=""))
    assert (await kombo.list_users(ListQuery(), None, 5)).next_token is None


@pytest.mark.parametrize(
    ("method", "path", "fixture", "first_id"),
    [
        ("list_courses", "/lms/courses", "courses", SEED_COURSE),
        ("list_skills", "/lms/skills", "skills", "4EeSSSd9Fr8iiW9mPKmjEVWK"),
        ("list_progressions", "/lms/course-progressions", "course-progressions", SEED_COURSE),
    ],
)
async def test_each_list_reads_its_endpoint(
    kombo: KomboConnector,
    mock_http: StrictAioresponses,
    method: str,
    path: str,
    fixture: str,
    first_id: str,
) -> None:
    recorded = with_next(load_fixture("kombo", fixture), "next-page")
    mock_http.get(url(path, page_size="25"), payload=recorded)
    page = await getattr(kombo, method)(ListQuery(), None, 25)
    assert len(page.items) == len(recorded["data"]["results"])
    assert page.items[0].id == first_id
    assert page.next_token == "next-page"


async def test_check_health_makes_one_minimal_call(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(url("/lms/users", page_size="1"), payload=users_page(SARAH))
    await kombo.check_health()
    assert len(mock_http.calls) == 1


async def test_check_health_raises_when_the_key_is_rejected(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    body = with_error_code(
        load_fixture("kombo", "error-rate-limit"), "PLATFORM.AUTHENTICATION_INVALID"
    )
    mock_http.get(url("/lms/users", page_size="1"), status=401, payload=body)
    with pytest.raises(VendorAuthError):
        await kombo.check_health()


# -- batched look-ups --------------------------------------------------------------------------


def by_ids(*ids: str, **extra: str) -> URL:
    return url("/lms/users", ids=",".join(ids), include_deleted="true", page_size="250", **extra)


async def test_fetch_users_is_one_call_with_ids_and_deleted(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(by_ids(SARAH, JONAS, OLA), payload=users_page(SARAH, JONAS, OLA))
    found = await kombo.fetch_users([SARAH, JONAS, OLA])
    assert list(found) == [SARAH, JONAS, OLA]
    assert found[OLA].deleted_at is not None
    assert found[JONAS].first_name == "Jonas"
    assert len(mock_http.calls) == 1


async def test_fetch_users_follows_next_across_pages(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(by_ids(SARAH, JONAS, OLA), payload=users_page(SARAH, next_cursor="p2"))
    mock_http.get(
        by_ids(SARAH, JONAS, OLA, cursor="p2"), payload=users_page(JONAS, next_cursor="p3")
    )
    mock_http.get(by_ids(SARAH, JONAS, OLA, cursor="p3"), payload=users_page(OLA))
    found = await kombo.fetch_users([SARAH, JONAS, OLA])
    assert set(found) == {SARAH, JONAS, OLA}
    assert [call.params.get("cursor") for call in mock_http.calls] == [None, "p2", "p3"]
    # The filters travel with every page: the cursor does not carry them.
    assert all(call.params["ids"] == f"{SARAH},{JONAS},{OLA}" for call in mock_http.calls)


async def test_fetch_users_chunks_more_than_100_ids(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    ids = [f"user{n:020d}" for n in range(150)]
    mock_http.get(by_ids(*ids[:100]), payload=renamed_users(ids[:100]))
    mock_http.get(by_ids(*ids[100:]), payload=renamed_users(ids[100:]))
    found = await kombo.fetch_users(ids)
    assert len(mock_http.calls) == 2
    assert [len(call.params["ids"].split(",")) for call in mock_http.calls] == [100, 50]
    assert set(found) == set(ids)


async def test_fetch_users_dedupes_ids(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(by_ids(SARAH, JONAS, OLA), payload=users_page(SARAH, JONAS, OLA))
    found = await kombo.fetch_users([SARAH, JONAS, SARAH, OLA, JONAS])
    assert len(found) == 3


async def test_exactly_100_distinct_ids_are_one_call(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    ids = [f"user{n:020d}" for n in range(100)]
    mock_http.get(by_ids(*ids), payload=renamed_users(ids))
    found = await kombo.fetch_users([*ids, *ids[:10]])
    assert len(found) == 100
    assert len(mock_http.calls) == 1


async def test_ids_kombo_does_not_return_are_absent(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(by_ids(SARAH, "goneUser", JONAS), payload=users_page(SARAH, JONAS))
    found = await kombo.fetch_users([SARAH, "goneUser", JONAS])
    assert set(found) == {SARAH, JONAS}
    assert "goneUser" not in found


async def test_fetch_without_ids_makes_no_call(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    assert await kombo.fetch_users([]) == {}
    assert await kombo.fetch_progressions_of_users([]) == {}
    assert mock_http.calls == []


@pytest.mark.parametrize(
    ("method", "path", "fixture", "ids"),
    [
        ("fetch_courses", "/lms/courses", "courses", [SEED_COURSE, PRIVACY_COURSE]),
        ("fetch_skills", "/lms/skills", "skills", ["4EeSSSd9Fr8iiW9mPKmjEVWK"]),
        (
            "fetch_progressions",
            "/lms/course-progressions",
            "course-progressions",
            [SEED_COURSE, "5MkO8lNj3HuY0gTf7RdE4sWq"],
        ),
    ],
)
async def test_each_fetch_reads_its_endpoint_by_ids(
    kombo: KomboConnector,
    mock_http: StrictAioresponses,
    method: str,
    path: str,
    fixture: str,
    ids: list[str],
) -> None:
    mock_http.get(
        url(path, ids=",".join(ids), include_deleted="true", page_size="250"),
        payload=with_next(select(load_fixture("kombo", fixture), *ids), None),
    )
    found = await getattr(kombo, method)(ids)
    assert list(found) == ids


def progressions_url(**params: str) -> URL:
    return url("/lms/course-progressions", page_size="250", **params)


async def test_progressions_of_users_are_grouped_per_requested_user(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(
        progressions_url(user_ids=f"{JONAS},{SARAH},{OLA}"),
        payload=with_next(load_fixture("kombo", "course-progressions"), None),
    )
    grouped = await kombo.fetch_progressions_of_users([JONAS, SARAH, OLA, JONAS])
    assert list(grouped) == [JONAS, SARAH, OLA]
    assert [p.id for p in grouped[SARAH]] == [SEED_COURSE, "4PlM7nKo2JiU9hYg6TfR3dEw"]
    assert [p.id for p in grouped[JONAS]] == [
        "5MkO8lNj3HuY0gTf7RdE4sWq",
        "6NlP9mOk4IvZ1hUg8SeF5tXr",
    ]
    assert grouped[OLA] == []
    # Deleted progressions are not asked for.
    assert "include_deleted" not in mock_http.calls[0].params


async def test_progressions_of_users_follow_pages(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    recorded = load_fixture("kombo", "course-progressions")
    first = with_next(select(recorded, SEED_COURSE), "p2")
    second = with_next(select(recorded, "4PlM7nKo2JiU9hYg6TfR3dEw"), None)
    mock_http.get(progressions_url(user_ids=SARAH), payload=first)
    mock_http.get(progressions_url(user_ids=SARAH, cursor="p2"), payload=second)
    grouped = await kombo.fetch_progressions_of_users([SARAH])
    assert [p.id for p in grouped[SARAH]] == [SEED_COURSE, "4PlM7nKo2JiU9hYg6TfR3dEw"]


async def test_progressions_of_users_are_read_in_chunks_that_fit_one_page(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    # 25 users per call (USERS_PER_GROUPED_CALL), the distinct IDs in the order given.
    ids = [f"user{n:020d}" for n in range(51)]
    empty = with_next(with_results(load_fixture("kombo", "course-progressions"), []), None)
    for chunk in (ids[:25], ids[25:50], ids[50:]):
        mock_http.get(progressions_url(user_ids=",".join(chunk)), payload=empty)
    grouped = await kombo.fetch_progressions_of_users([*ids, ids[0]])
    assert list(grouped) == ids
    assert all(found == [] for found in grouped.values())


class Overlap:
    """An aioresponses callback that holds every answer until ``expected`` requests are in
    flight: the look-up only ends if its calls run at the same time (sequential calls
    would wait forever, and the test's bound fails them)."""

    def __init__(self, expected: int, payload: dict[str, Any]) -> None:
        self.expected = expected
        self.payload = payload
        self.arrived = 0
        self.peak = 0
        self.all_in = asyncio.Event()

    async def answer(self, url: URL, **kwargs: Any) -> CallbackResult:
        self.arrived += 1
        self.peak = max(self.peak, self.arrived)
        if self.arrived >= self.expected:
            self.all_in.set()
        await self.all_in.wait()
        return CallbackResult(payload=self.payload, response_class=CompatClientResponse)


@pytest.mark.parametrize(
    ("lookup", "keys", "calls"),
    [
        ("fetch_progressions_of_users", 100, 4),
        ("fetch_progressions_of_courses", 12, 3),
        ("fetch_users", 250, 3),
        ("fetch_users_by_email", 201, 3),
    ],
)
async def test_the_chunks_of_one_look_up_are_read_at_the_same_time(
    kombo: KomboConnector, mock_http: StrictAioresponses, lookup: str, keys: int, calls: int
) -> None:
    path = "/lms/users" if "users" in lookup and "progressions" not in lookup else None
    fixture = "users" if path else "course-progressions"
    empty = with_next(with_results(load_fixture("kombo", fixture), []), None)
    overlap = Overlap(calls, empty)
    pattern = re.compile(re.escape(KOMBO_BASE_URL + (path or "/lms/course-progressions")) + r"\?")
    mock_http.get(pattern, callback=overlap.answer, repeat=calls)
    ids = [f"key{n:020d}@example.com" for n in range(keys)]
    async with asyncio.timeout(5):
        await getattr(kombo, lookup)(ids)
    assert (len(mock_http.calls), overlap.peak) == (calls, calls)


async def test_progressions_of_courses_use_the_embedded_course(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    keys = [SEED_COURSE, PRIVACY_COURSE, FORKLIFT_COURSE, "courseWithoutLearners"]
    mock_http.get(
        progressions_url(course_ids=",".join(keys)),
        payload=with_next(load_fixture("kombo", "course-progressions"), None),
    )
    grouped = await kombo.fetch_progressions_of_courses(keys)
    assert list(grouped) == keys
    assert [p.id for p in grouped[SEED_COURSE]] == [SEED_COURSE]
    assert [p.id for p in grouped[PRIVACY_COURSE]] == ["4PlM7nKo2JiU9hYg6TfR3dEw"]
    assert [p.id for p in grouped[FORKLIFT_COURSE]] == ["5MkO8lNj3HuY0gTf7RdE4sWq"]
    assert grouped["courseWithoutLearners"] == []
    # The progression whose revision has no course lands nowhere.
    assert all("6NlP9mOk4IvZ1hUg8SeF5tXr" not in [p.id for p in v] for v in grouped.values())


async def test_repeated_next_cursor_is_a_bad_response(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(by_ids(SARAH, JONAS), payload=users_page(SARAH, next_cursor="loop"))
    mock_http.get(
        by_ids(SARAH, JONAS, cursor="loop"), payload=users_page(JONAS, next_cursor="loop")
    )
    with pytest.raises(VendorBadResponse) as caught:
        await kombo.fetch_users([SARAH, JONAS])
    assert "repeated" in str(caught.value)
    assert_safe_message(caught.value, "/lms/users")
    assert len(mock_http.calls) == 2


# -- errors ------------------------------------------------------------------------------------


def assert_safe_message(exc: BaseException, path: str) -> None:
    """Names the source and path; never leaks the API key, also not down the cause chain."""
    assert KOMBO_SOURCE in str(exc)
    assert path in str(exc)
    chain: BaseException | None = exc
    while chain is not None:
        assert KOMBO_API_KEY not in str(chain)
        assert KOMBO_API_KEY not in repr(chain)
        chain = chain.__cause__ or chain.__context__


def error_body(code: str | None) -> dict[str, Any]:
    return with_error_code(load_fixture("kombo", "error-rate-limit"), code)


@dataclass(frozen=True)
class ErrorCase:
    responses: list[dict[str, Any]]
    raised: type[ConnectorError]
    calls: int
    status: int | None = None
    vendor_code: str | None = None
    retry_after: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    detail: str | None = None  # when one detail must be told from the others of its class


ERROR_CASES = {
    "401 authentication invalid, not retried": ErrorCase(
        [{"status": 401, "payload": error_body("PLATFORM.AUTHENTICATION_INVALID")}],
        VendorAuthError,
        calls=1,
        status=401,
        vendor_code="PLATFORM.AUTHENTICATION_INVALID",
    ),
    "400 input invalid": ErrorCase(
        [{"status": 400, "payload": error_body("PLATFORM.INPUT_INVALID")}],
        VendorRejectedRequest,
        calls=1,
        status=400,
        vendor_code="PLATFORM.INPUT_INVALID",
    ),
    "429 with Retry-After above the policy's maximum": ErrorCase(
        [
            {
                "status": 429,
                "payload": load_fixture("kombo", "error-rate-limit"),
                "headers": {"Retry-After": "30"},
            }
        ],
        VendorRateLimited,
        calls=1,
        status=429,
        vendor_code="PLATFORM.RATE_LIMIT_EXCEEDED",
        retry_after=30.0,
    ),
    "429 until attempts run out": ErrorCase(
        [{"status": 429, "payload": load_fixture("kombo", "error-rate-limit"), "repeat": 3}],
        VendorRateLimited,
        calls=3,
        status=429,
        vendor_code="PLATFORM.RATE_LIMIT_EXCEEDED",
    ),
    "500 three times": ErrorCase(
        [{"status": 500, "payload": error_body("PLATFORM.UNKNOWN_ERROR"), "repeat": 3}],
        VendorUnavailable,
        calls=3,
        status=500,
        vendor_code="PLATFORM.UNKNOWN_ERROR",
    ),
    "503 with an HTML error page": ErrorCase(
        [{"status": 503, "body": "<html>down</html>", "content_type": "text/html", "repeat": 3}],
        VendorUnavailable,
        calls=3,
        status=503,
    ),
    "409 setup pending is retried by code": ErrorCase(
        [{"status": 409, "payload": error_body("INTEGRATION.SETUP_SYNC_PENDING"), "repeat": 3}],
        VendorUnavailable,
        calls=3,
        status=409,
        vendor_code="INTEGRATION.SETUP_SYNC_PENDING",
    ),
    "model not available is permanent: not retried": ErrorCase(
        [{"status": 400, "payload": error_body("INTEGRATION.MODEL_NOT_AVAILABLE")}],
        VendorRejectedRequest,
        calls=1,
        status=400,
        vendor_code="INTEGRATION.MODEL_NOT_AVAILABLE",
    ),
    "409 without a known code is not retried": ErrorCase(
        [{"status": 409, "payload": error_body("PLATFORM.SOMETHING_NEW")}],
        VendorRejectedRequest,
        calls=1,
        status=409,
        vendor_code="PLATFORM.SOMETHING_NEW",
    ),
    "code wins over status": ErrorCase(
        [{"status": 403, "payload": error_body("PLATFORM.INPUT_INVALID")}],
        VendorRejectedRequest,
        calls=1,
        status=403,
        vendor_code="PLATFORM.INPUT_INVALID",
    ),
    "404 without body": ErrorCase([{"status": 404}], VendorNotFound, calls=1, status=404),
    # No table names these: below 500 the vendor refused the request, from 500 it failed.
    "418 is a refusal": ErrorCase(
        [{"status": 418, "body": "<html>teapot</html>", "content_type": "text/html"}],
        VendorRejectedRequest,
        calls=1,
        status=418,
    ),
    "599 is a failure": ErrorCase(
        [{"status": 599, "body": "<html>odd</html>", "content_type": "text/html", "repeat": 3}],
        VendorUnavailable,
        calls=3,
        status=599,
    ),
    "200 with HTML": ErrorCase(
        [{"status": 200, "body": "<html>", "content_type": "text/html"}],
        VendorBadResponse,
        calls=1,
        status=200,
        detail="response is not JSON",
    ),
    "300 with HTML is a refusal": ErrorCase(
        [{"status": 300, "body": "<html>choose</html>", "content_type": "text/html"}],
        VendorRejectedRequest,
        calls=1,
        status=300,
    ),
    "200 with an envelope of the wrong shape": ErrorCase(
        [{"payload": without_field(load_fixture("kombo", "users"), "data.results")}],
        VendorBadResponse,
        calls=1,
        status=200,
    ),
    "200 with an error body": ErrorCase(
        [{"payload": load_fixture("kombo", "error-rate-limit")}],
        VendorBadResponse,
        calls=1,
        status=200,
    ),
    "200 with an empty body": ErrorCase([{"body": b""}], VendorBadResponse, calls=1, status=200),
    "connection error": ErrorCase(
        [{"exception": aiohttp.ServerDisconnectedError(), "repeat": 3}],
        VendorUnavailable,
        calls=3,
        detail="connection failed (ServerDisconnectedError)",  # what failed, never a URL
    ),
    "timeout": ErrorCase(
        # asyncio.TimeoutError is TimeoutError since Python 3.11.
        [{"exception": TimeoutError(), "repeat": 3}],
        VendorUnavailable,
        calls=3,
        detail="timed out",
    ),
}


@pytest.mark.parametrize("case", list(ERROR_CASES.values()), ids=list(ERROR_CASES))
async def test_error_classification(
    kombo: KomboConnector, mock_http: StrictAioresponses, slept: list[float], case: ErrorCase
) -> None:
    for response in case.responses:
        mock_http.get(url("/lms/users", page_size="10"), **response)
    with pytest.raises(case.raised) as caught:
        await kombo.list_users(ListQuery(), None, 10)
    error = caught.value
    assert type(error) is case.raised
    assert len(mock_http.calls) == case.calls
    assert len(slept) == case.calls - 1  # a backoff between attempts, never a long wait
    assert all(delay == 0 for delay in slept)
    assert (error.status, error.vendor_code) == (case.status, case.vendor_code)
    assert error.retry_after == case.retry_after
    assert (error.source, error.vendor, error.method, error.path) == (
        KOMBO_SOURCE,
        "kombo",
        "GET",
        "/lms/users",
    )
    assert_safe_message(error, "/lms/users")
    if case.status is not None and case.raised is not VendorBadResponse:
        # one detail per class, whatever the vendor (tests/e2e/test_promises.py, end to end)
        assert str(error).endswith(": " + STATUS_DETAILS[case.raised])
    elif case.raised is VendorBadResponse:
        detail = str(error).rpartition(": ")[2]
        assert detail == "response is not JSON" or re.fullmatch(
            r"unexpected response shape \(\d+ problems\)", detail
        ), detail
    if case.detail is not None:
        assert error.detail == case.detail


#: What an error status says after the source, path and status.
STATUS_DETAILS: dict[type[ConnectorError], str] = {
    VendorAuthError: "credentials or tenant rejected",
    VendorRateLimited: "rate limited",
    VendorUnavailable: "vendor failed",
    VendorNotFound: "not found",
    VendorRejectedRequest: "request rejected",
}


async def test_rate_limit_then_success_is_retried(
    kombo: KomboConnector,
    mock_http: StrictAioresponses,
    slept: list[float],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("INFO", "connectors._http")
    target = url("/lms/users", page_size="10")
    mock_http.get(target, status=429, payload=load_fixture("kombo", "error-rate-limit"), repeat=2)
    mock_http.get(target, payload=users_page(SARAH))
    page = await kombo.list_users(ListQuery(), None, 10)
    assert [user.id for user in page.items] == [SARAH]
    assert len(mock_http.calls) == 3
    assert slept == [0, 0]  # the fixture's policy: base_delay=max_delay=0
    # each retry is logged with the failure it answers
    logged = [record.getMessage() for record in caplog.records]
    assert [line.partition(": ")[2] for line in logged] == [
        f"rate limited; retrying in 0.00s (attempt {n})" for n in (1, 2)
    ]
    assert all(
        line.startswith(f"source {KOMBO_SOURCE!r} (kombo) on GET /lms/users") for line in logged
    )


async def test_short_retry_after_is_waited_for_then_retried(
    kombo: KomboConnector, mock_http: StrictAioresponses, slept: list[float]
) -> None:
    target = url("/lms/users", page_size="10")
    mock_http.get(
        target,
        status=429,
        payload=load_fixture("kombo", "error-rate-limit"),
        headers={"Retry-After": "2"},
    )
    mock_http.get(target, payload=users_page(SARAH))
    assert len((await kombo.list_users(ListQuery(), None, 10)).items) == 1
    assert len(mock_http.calls) == 2
    assert slept == [2.0]


async def test_final_failures_do_not_wait(
    kombo: KomboConnector, mock_http: StrictAioresponses, slept: list[float]
) -> None:
    mock_http.get(url("/lms/users", page_size="10"), status=500, repeat=3)
    with pytest.raises(VendorUnavailable):
        await kombo.list_users(ListQuery(), None, 10)
    assert len(slept) == 2  # between the three attempts, none after the last


async def test_error_in_a_batched_lookup_names_the_path(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(
        url("/lms/courses", ids=SEED_COURSE, include_deleted="true", page_size="250"),
        status=401,
        payload=error_body("PLATFORM.INTEGRATION_NOT_FOUND"),
    )
    with pytest.raises(VendorAuthError) as caught:
        await kombo.fetch_courses([SEED_COURSE])
    assert caught.value.vendor_code == "PLATFORM.INTEGRATION_NOT_FOUND"
    assert_safe_message(caught.value, "/lms/courses")


def test_connector_repr_does_not_leak_the_key(kombo: KomboConnector) -> None:
    assert KOMBO_API_KEY not in repr(kombo._http)
    assert KOMBO_INTEGRATION_ID in repr(kombo._http)


async def test_malformed_retry_after_date_on_success_is_ignored(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    mock_http.get(
        url("/lms/users", page_size="10"),
        payload=users_page(SARAH),
        headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00"},
    )
    page = await kombo.list_users(ListQuery(), None, 10)
    assert len(page.items) == 1


async def test_users_by_email_match_case_insensitively_and_skip_deleted(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    page = users_page(SARAH, JONAS)
    page["data"]["results"][0]["work_email"] = "Sarah.Connor@Example.COM"
    mock_http.get(
        url("/lms/users", page_size="250", work_emails="sarah.connor@example.com,nobody@x.io"),
        payload=page,
    )
    found = await kombo.fetch_users_by_email(["sarah.connor@example.com", "nobody@x.io"])
    assert [u.id for u in found["sarah.connor@example.com"]] == [SARAH]
    assert found["nobody@x.io"] == []
    assert "include_deleted" not in mock_http.calls[0].params


async def test_records_without_id_are_skipped_and_reported_once_for_their_page(
    kombo: KomboConnector, mock_http: StrictAioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    recorded = load_fixture("kombo", "users")
    kept = [user["id"] for user in recorded["data"]["results"][1:]]
    del recorded["data"]["results"][0]["id"]
    mock_http.get(url("/lms/users", page_size="10"), payload=recorded)
    notices: list[BadRecords] = []
    collect_bad_records(notices)
    with caplog.at_level(logging.WARNING, "lms_graph"):
        result = await kombo.list_users(ListQuery(), None, 10)
    assert [user.id for user in result.items] == kept
    # page: the query that tells this page from the endpoint's others
    assert notices == [BadRecords(KOMBO_SOURCE, "kombo", "/lms/users", 1, "page_size=10")]
    assert [r.getMessage() for r in caplog.records] == [notices[0].message]


async def test_a_closed_connector_refuses_calls_and_opens_again(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    await kombo.close()
    with pytest.raises(RuntimeError, match="transport used before open"):
        await kombo.list_users(ListQuery(), None, 10)
    await kombo.open()
    mock_http.get(url("/lms/users", page_size="10"), payload=users_page(SARAH))
    page = await kombo.list_users(ListQuery(), None, 10)
    assert [user.id for user in page.items] == [SARAH]
