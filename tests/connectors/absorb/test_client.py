"""AbsorbConnector over mocked HTTP: login and token reuse, pages, batching, errors."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from aioresponses import CallbackResult
from yarl import URL

from connectors.absorb import AbsorbConnector
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
from connectors.records import BadRecords, collect_bad_records
from tests.connectors.absorb.conftest import make_connector
from tests.connectors.absorb.env import (
    ABSORB_API_KEY,
    ABSORB_BASE_URL,
    ABSORB_PASSWORD,
    ABSORB_SOURCE,
    ABSORB_TOKEN,
    ABSORB_USERNAME,
)
from tests.connectors.fixtures import load_fixture
from tests.connectors.strict_mock import CompatClientResponse, StrictAioresponses

ANN = "3d9f2c1a-7b6e-4d5c-8a9b-0e1f2a3b4c01"
JONAS = "3d9f2c1a-7b6e-4d5c-8a9b-0e1f2a3b4c02"
BARE = "3d9f2c1a-7b6e-4d5c-8a9b-0e1f2a3b4c03"
SAFETY = "5f0e7a1b-3c2d-4e8f-9a6b-7c1d2e3f4a01"
PRIVACY = "5f0e7a1b-3c2d-4e8f-9a6b-7c1d2e3f4a02"
DONE, STARTED, HISTORICAL = (f"0c6a1d2e-8f31-4b7a-9e55-2d4f6a8b1c0{n}" for n in (1, 2, 3))
SECRETS = (ABSORB_API_KEY, ABSORB_PASSWORD, ABSORB_TOKEN, "tok-second")


def url(path: str, params: Mapping[str, str] | Sequence[tuple[str, str]] = ()) -> URL:
    """The exact URL of a call: aioresponses compares it with sorted query parameters."""
    return URL(ABSORB_BASE_URL + path).with_query(params)


def login(mock: StrictAioresponses, token: Any = ABSORB_TOKEN, **extra: Any) -> None:
    mock.post(
        url("/authenticate"), body=json.dumps(token), content_type="application/json", **extra
    )


def users(limit: int = 10, offset: int = 0, **params: str) -> URL:
    return url("/users", {"_limit": str(limit), "_offset": str(offset), **params})


def guid(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def users_page(*ids: str, total: int | None = None, limit: int = 10) -> dict[str, Any]:
    recorded = {u["id"]: u for u in load_fixture("absorb", "users")["users"]}
    items = [recorded.get(i, {**recorded[BARE], "id": i}) for i in ids]
    total = len(items) if total is None else total
    return {
        "totalItems": total,
        "returnedItems": len(items),
        "limit": limit,
        "offset": 0,
        "users": items,
    }


def enrollments(*ids: str) -> list[dict[str, Any]]:
    recorded = {e["id"]: e for e in load_fixture("absorb", "enrollments")["enrollments"]}
    return [recorded[i] for i in ids]


def reply(**kwargs: Any) -> CallbackResult:
    """A callback's answer (aiohttp >= 3.13 needs the compatible response class)."""
    return CallbackResult(response_class=CompatClientResponse, **kwargs)


def assert_safe(exc: BaseException) -> None:
    """No credential or token anywhere in the error or its cause chain."""
    chain: BaseException | None = exc
    while chain is not None:
        for secret in SECRETS:
            assert secret not in str(chain)
            assert secret not in repr(chain)
        chain = chain.__cause__ or chain.__context__


# -- login and the token -----------------------------------------------------------------------


async def test_login_then_every_call_carries_key_version_and_raw_token(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    login(mock_http)
    mock_http.get(users(), payload=users_page(ANN))
    await absorb.list_users(ListQuery(), None, 10)
    post, get = mock_http.calls
    assert post.method == "POST"
    assert post.headers["x-api-key"] == ABSORB_API_KEY
    assert post.headers["x-api-version"] == "2"
    assert "Authorization" not in post.headers
    (sent,) = mock_http.requests[("POST", url("/authenticate"))]
    assert sent.kwargs["json"] == {
        "username": ABSORB_USERNAME,
        "password": ABSORB_PASSWORD,
        "privateKey": ABSORB_API_KEY,
    }
    assert get.headers["Authorization"] == ABSORB_TOKEN
    assert get.headers["x-api-key"] == ABSORB_API_KEY
    assert get.headers["x-api-version"] == "2"


async def test_bearer_prefix(mock_http: StrictAioresponses) -> None:
    connector = make_connector(token_prefix="Bearer")
    await connector.open()
    try:
        login(mock_http)
        mock_http.get(url("/users", {"_limit": "1"}), payload=users_page(ANN))
        await connector.check_health()
    finally:
        await connector.close()
    assert mock_http.calls[1].headers["Authorization"] == f"Bearer {ABSORB_TOKEN}"


async def test_token_is_reused_across_calls(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    login(mock_http)
    mock_http.get(users(), payload=users_page(ANN), repeat=3)
    for _ in range(3):
        await absorb.list_users(ListQuery(), None, 10)
    assert [c.method for c in mock_http.calls] == ["POST", "GET", "GET", "GET"]


async def test_concurrent_first_calls_share_one_login(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    async def slow_login(_url: URL, **_kwargs: Any) -> CallbackResult:
        await asyncio.sleep(0.01)  # every request arrives while the login is in flight
        return reply(body=json.dumps(ABSORB_TOKEN), content_type="application/json")

    mock_http.post(url("/authenticate"), callback=slow_login)
    mock_http.get(users(), payload=users_page(ANN), repeat=10)
    await asyncio.gather(*(absorb.list_users(ListQuery(), None, 10) for _ in range(10)))
    assert sum(c.method == "POST" for c in mock_http.calls) == 1


async def test_token_is_renewed_five_minutes_before_four_hours(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    now = [1000.0]
    absorb._auth.clock = lambda: now[0]
    login(mock_http)
    login(mock_http, "tok-second")
    mock_http.get(users(), payload=users_page(ANN), repeat=3)
    await absorb.list_users(ListQuery(), None, 10)
    now[0] += 4 * 3600 - 5 * 60 - 1
    await absorb.list_users(ListQuery(), None, 10)
    now[0] += 1
    await absorb.list_users(ListQuery(), None, 10)
    tokens = [c.headers.get("Authorization") for c in mock_http.calls]
    assert tokens == [None, ABSORB_TOKEN, ABSORB_TOKEN, None, "tok-second"]


def absorb_error(status: int, message: str = "Unauthorized") -> dict[str, Any]:
    return {**load_fixture("absorb", "error-validation"), "code": status, "message": message}


async def test_401_renews_the_token_once_and_retries(
    absorb: AbsorbConnector, mock_http: StrictAioresponses, slept: list[float]
) -> None:
    login(mock_http)
    login(mock_http, "tok-second")
    mock_http.get(users(), status=401, payload=absorb_error(401))
    mock_http.get(users(), payload=users_page(ANN))
    page = await absorb.list_users(ListQuery(), None, 10)
    assert [u.id for u in page.items] == [ANN]
    tokens = [c.headers.get("Authorization") for c in mock_http.calls]
    assert tokens == [None, ABSORB_TOKEN, None, "tok-second"]
    assert slept == []  # a renewal is not a backoff


async def test_401_after_renewal_is_final(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    login(mock_http)
    login(mock_http, "tok-second")
    mock_http.get(users(), status=401, payload=absorb_error(401), repeat=2)
    with pytest.raises(VendorAuthError) as caught:
        await absorb.list_users(ListQuery(), None, 10)
    assert (caught.value.status, caught.value.vendor_code, caught.value.path) == (
        401,
        "401",
        "/users",
    )
    assert len(mock_http.calls) == 4
    assert_safe(caught.value)


async def test_concurrent_401s_renew_once(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    async def answer(_url: URL, **kwargs: Any) -> CallbackResult:
        await asyncio.sleep(0.005)
        if kwargs["headers"]["Authorization"] == ABSORB_TOKEN:  # invalidated elsewhere
            return reply(status=401, payload=absorb_error(401))
        return reply(payload=users_page(ANN))

    login(mock_http)
    login(mock_http, "tok-second")
    mock_http.get(users(), callback=answer, repeat=True)
    await absorb.list_users(ListQuery(), None, 10)  # logs in, then the token dies
    pages = await asyncio.gather(*(absorb.list_users(ListQuery(), None, 10) for _ in range(6)))
    assert all(len(p.items) == 1 for p in pages)
    assert sum(c.method == "POST" for c in mock_http.calls) == 2


@pytest.mark.parametrize("status", [400, 401, 403])
async def test_rejected_login_is_final(
    absorb: AbsorbConnector, mock_http: StrictAioresponses, status: int
) -> None:
    mock_http.post(url("/authenticate"), status=status, payload=absorb_error(status))
    with pytest.raises(ConnectorError) as caught:
        await absorb.check_health()
    error = caught.value
    assert type(error) is VendorAuthError  # 400: an empty credential, a config problem too
    assert (error.method, error.path, error.status) == ("POST", "/authenticate", status)
    assert len(mock_http.calls) == 1  # no second login, no GET
    assert_safe(error)


@pytest.mark.parametrize("answer", [{"token": ABSORB_TOKEN}, "", 42, None])
async def test_login_answer_that_is_not_a_token_is_a_bad_response(
    absorb: AbsorbConnector, mock_http: StrictAioresponses, answer: Any
) -> None:
    login(mock_http, answer)
    with pytest.raises(VendorBadResponse) as caught:
        await absorb.check_health()
    assert caught.value.path == "/authenticate"
    assert_safe(caught.value)


async def test_rate_limited_login_is_retried_after_retry_after(
    absorb: AbsorbConnector, mock_http: StrictAioresponses, slept: list[float]
) -> None:
    mock_http.post(
        url("/authenticate"), status=429, payload=absorb_error(429), headers={"Retry-After": "1"}
    )
    login(mock_http)
    mock_http.get(users(), payload=users_page(ANN))
    await absorb.list_users(ListQuery(), None, 10)
    assert slept == [1.0]
    assert [c.method for c in mock_http.calls] == ["POST", "POST", "GET"]


def test_tenant_and_reprs_hold_no_secret(absorb: AbsorbConnector) -> None:
    assert absorb.tenant == "rest.myabsorb.eu/api-admin"
    assert make_connector(base_url="http://127.0.0.1:8700/absorb/").tenant == (
        "127.0.0.1:8700/api-admin"
    )
    for shown in (repr(absorb._http), repr(absorb._auth), repr(absorb._auth.login_http)):
        assert ABSORB_USERNAME in shown or "AbsorbKeyAuth" in shown
        assert all(secret not in shown for secret in SECRETS)


async def test_token_is_not_in_reprs_after_login(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    login(mock_http)
    mock_http.get(url("/users", {"_limit": "1"}), payload=users_page(ANN))
    await absorb.check_health()
    assert ABSORB_TOKEN not in repr(absorb._auth)
    assert ABSORB_TOKEN not in repr(absorb._http)


# -- pages -------------------------------------------------------------------------------------


async def test_list_users_pages_by_index_and_counts(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    login(mock_http)
    mock_http.get(users(10, 0), payload=users_page(ANN, JONAS, total=25))
    mock_http.get(users(10, 2), payload=users_page(BARE, total=25))
    first = await absorb.list_users(ListQuery(), None, 10)
    assert [u.id for u in first.items] == [ANN, JONAS]
    assert (first.next_token, first.total_count) == ("1:10", 25)
    # The token's page size wins over the size asked for: a chain never mixes sizes.
    last = await absorb.list_users(ListQuery(), "2:10", 50)
    assert (last.next_token, last.total_count) == (None, 25)


@pytest.mark.parametrize(("size", "sent"), [(0, 1), (1000, 1000), (5000, 1000)])
async def test_page_size_is_clamped(
    absorb: AbsorbConnector, mock_http: StrictAioresponses, size: int, sent: int
) -> None:
    login(mock_http)
    mock_http.get(users(sent), payload=users_page(ANN))
    await absorb.list_users(ListQuery(), None, size)


@pytest.mark.parametrize("token", ["garbage", "1:0", "1:1001", "-1:10"])
async def test_a_foreign_token_is_rejected_without_a_call(
    absorb: AbsorbConnector, mock_http: StrictAioresponses, token: str
) -> None:
    with pytest.raises(VendorRejectedRequest) as caught:
        await absorb.list_users(ListQuery(), token, 10)
    assert caught.value.code == "SOURCE_REJECTED_REQUEST"
    assert mock_http.calls == []


async def test_updated_after_is_sent_as_a_date_edited_filter(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    naive = datetime(2024, 1, 2, 3, 4, 5, 678901)  # noqa: DTZ001 - naive on purpose: UTC
    wire = "dateEdited gt datetime'2024-01-02T03:04:05.678Z'"
    login(mock_http)
    mock_http.get(url("/courses", {"_limit": "5", "_offset": "0", "_filter": wire}),
                  payload=load_fixture("absorb", "courses"))  # fmt: skip
    page = await absorb.list_courses(ListQuery(updated_after=naive, include_deleted=True), None, 5)
    assert [c.id for c in page.items] == [SAFETY, PRIVACY]
    assert page.total_count == 2


async def test_skills_make_no_call(absorb: AbsorbConnector, mock_http: StrictAioresponses) -> None:
    page = await absorb.list_skills(ListQuery(), None, 10)
    assert (list(page.items), page.next_token, page.total_count) == ([], None, 0)
    assert await absorb.fetch_skills(["x"]) == {}
    assert mock_http.calls == []


def bulk(*user_ids: str) -> URL:
    return url("/bulk/studentcourses", [("userIds", i) for i in user_ids])


async def test_list_progressions_reads_a_users_page_and_their_enrollments(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    login(mock_http)
    mock_http.get(users(3), payload=users_page(ANN, JONAS, BARE, total=7, limit=3))
    mock_http.get(bulk(ANN, JONAS, BARE), payload=enrollments(DONE, STARTED, HISTORICAL))
    page = await absorb.list_progressions(ListQuery(), None, 3)
    assert [p.id for p in page.items] == [DONE, STARTED]  # the historical one is left out
    assert (page.next_token, page.total_count) == ("1:3", None)
    assert sorted(mock_http.calls[2].url.query.getall("userIds")) == sorted([ANN, JONAS, BARE])


async def test_list_progressions_filters_updated_after_itself(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    login(mock_http)
    mock_http.get(users(50), payload=users_page(ANN, limit=50))
    mock_http.get(bulk(ANN), payload=enrollments(DONE, STARTED))
    since = datetime(2024, 3, 5, 16, 20, 1, 250000, tzinfo=UTC)  # DONE's dateEdited exactly
    page = await absorb.list_progressions(ListQuery(updated_after=since), None, 200)
    assert [p.id for p in page.items] == [STARTED]
    assert "_filter" not in mock_http.calls[1].params
    assert page.next_token is None


async def test_list_progressions_past_the_last_user_makes_no_bulk_call(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    login(mock_http)
    mock_http.get(users(10, 4), payload=users_page(total=25))
    page = await absorb.list_progressions(ListQuery(), "4:10", 10)
    assert (list(page.items), page.next_token) == ([], None)


# -- batched look-ups --------------------------------------------------------------------------


def by_filter(path: str, clause: str) -> URL:
    return url(path, {"_filter": clause, "_limit": "1000", "_offset": "0"})


async def test_fetch_users_is_one_filtered_call_keyed_as_asked(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    login(mock_http)
    clause = f"id eq guid'{ANN}' or id eq guid'{JONAS.upper()}' or id eq guid'{BARE}'"
    mock_http.get(by_filter("/users", clause), payload=users_page(ANN, JONAS))
    found = await absorb.fetch_users([ANN, JONAS.upper(), "not-a-guid", BARE, ANN])
    assert list(found) == [ANN, JONAS.upper()]
    assert found[JONAS.upper()].status is not None
    assert len(mock_http.calls) == 2


async def test_fetch_users_chunks_fifty_ids_per_filter(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    ids = [guid(n) for n in range(120)]
    for start in (0, 50, 100):
        chunk = ids[start : start + 50]
        clause = " or ".join(f"id eq guid'{i}'" for i in chunk)
        mock_http.get(by_filter("/users", clause), payload=users_page(*chunk, limit=1000))
    login(mock_http)
    found = await absorb.fetch_users(ids)
    assert list(found) == ids
    assert sum(c.method == "GET" for c in mock_http.calls) == 3


async def test_ids_that_cannot_be_absorb_ids_make_no_call(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    bad = ["unknown0000000000000000", f"{ANN}' or id ne guid'{ANN}", "../enrollments"]
    assert await absorb.fetch_users(bad) == {}
    assert await absorb.fetch_progressions(bad) == {}
    assert await absorb.fetch_progressions_of_users(bad) == {key: [] for key in bad}
    assert await absorb.fetch_progressions_of_courses(bad) == {key: [] for key in bad}
    assert mock_http.calls == []


async def test_users_by_email_match_case_insensitively(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    login(mock_http)
    clause = (
        "tolower(emailAddress) eq 'ann.lee@acme.example' or tolower(emailAddress) eq 'o''neil@x.io'"
    )
    mock_http.get(by_filter("/users", clause), payload=users_page(ANN))
    found = await absorb.fetch_users_by_email(["ann.lee@acme.example", "o'neil@x.io"])
    assert [u.id for u in found["ann.lee@acme.example"]] == [ANN]
    assert found["o'neil@x.io"] == []


async def test_fetch_progressions_one_call_each_404_and_history_absent(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    login(mock_http)
    (done, historical) = enrollments(DONE, HISTORICAL)
    mock_http.get(url(f"/enrollments/{DONE}"), payload=done)
    mock_http.get(url(f"/enrollments/{HISTORICAL}"), payload=historical)
    mock_http.get(
        url(f"/enrollments/{STARTED}"), status=404, payload=absorb_error(404, "Not found")
    )
    found = await absorb.fetch_progressions([DONE, HISTORICAL, STARTED, DONE])
    assert list(found) == [DONE]
    assert found[DONE].status is not None
    assert sum(c.method == "GET" for c in mock_http.calls) == 3


async def test_an_enrollment_without_id_reads_as_absent_and_is_reported(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    login(mock_http)
    (done, started) = enrollments(DONE, STARTED)
    del started["id"]
    mock_http.get(url(f"/enrollments/{DONE}"), payload=done)
    mock_http.get(url(f"/enrollments/{STARTED}"), payload=started)
    notices: list[BadRecords] = []
    collect_bad_records(notices)
    found = await absorb.fetch_progressions([DONE, STARTED])
    assert list(found) == [DONE]
    assert [(n.endpoint, n.count) for n in notices] == [(f"/enrollments/{STARTED}", 1)]


@dataclass
class InFlight:
    """Counts concurrent requests a callback answers, and the most at once."""

    answer: dict[str, Any] | list[Any]
    now: int = 0
    most: int = 0
    paths: list[str] = field(default_factory=list)

    async def respond(self, request_url: URL, **_kwargs: Any) -> CallbackResult:
        self.now += 1
        self.most = max(self.most, self.now)
        self.paths.append(request_url.path)
        await asyncio.sleep(0.01)
        self.now -= 1
        return reply(payload=self.answer)


@pytest.mark.parametrize("bound", [1, 3])
async def test_per_id_calls_never_exceed_the_concurrency_bound(
    mock_http: StrictAioresponses, bound: int
) -> None:
    connector = make_connector(max_concurrency=bound)
    await connector.open()
    ids = [guid(n) for n in range(10)]
    counter = InFlight(enrollments(STARTED)[0])
    try:
        login(mock_http)
        for i in ids:
            mock_http.get(url(f"/enrollments/{i}"), callback=counter.respond)
        found = await connector.fetch_progressions(ids)
    finally:
        await connector.close()
    assert found == {}  # every answer is about STARTED, none about an ID asked for
    assert counter.most == bound
    assert len(counter.paths) == 10


async def test_progressions_of_users_use_the_bulk_call(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    login(mock_http)
    mock_http.get(bulk(JONAS, ANN), payload=enrollments(DONE, STARTED, HISTORICAL))
    grouped = await absorb.fetch_progressions_of_users([JONAS, ANN, "nobody", JONAS])
    assert list(grouped) == [JONAS, ANN, "nobody"]
    assert [p.id for p in grouped[ANN]] == [DONE, STARTED]
    assert grouped[JONAS] == grouped["nobody"] == []


async def test_progressions_of_users_chunk_fifty_per_bulk_call(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    ids = [guid(n) for n in range(120)]
    login(mock_http)
    for start in (0, 50, 100):
        mock_http.get(bulk(*ids[start : start + 50]), payload=[])
    grouped = await absorb.fetch_progressions_of_users(ids)
    assert list(grouped) == ids
    sizes = [len(c.url.query.getall("userIds")) for c in mock_http.calls if c.method == "GET"]
    assert sorted(sizes) == [20, 50, 50]


async def test_progressions_of_courses_walk_each_course(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    def course_url(course_id: str, offset: int) -> URL:
        return url(f"/courses/{course_id}/enrollments", {"_limit": "1000", "_offset": str(offset)})

    done, historical, started = enrollments(DONE, HISTORICAL, STARTED)
    envelope = {"totalItems": 1002, "returnedItems": 1000, "limit": 1000, "offset": 0}
    login(mock_http)
    mock_http.get(course_url(SAFETY, 0), payload={**envelope, "enrollments": [done, historical]})
    mock_http.get(
        course_url(SAFETY, 1), payload={**envelope, "offset": 1, "enrollments": [started]}
    )
    mock_http.get(course_url(PRIVACY, 0), status=404, payload=absorb_error(404, "Not found"))
    grouped = await absorb.fetch_progressions_of_courses([SAFETY, PRIVACY])
    assert [p.id for p in grouped[SAFETY]] == [DONE, STARTED]
    assert grouped[PRIVACY] == []


# -- errors ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorCase:
    responses: list[dict[str, Any]]
    raised: type[ConnectorError]
    calls: int
    status: int | None = None
    vendor_code: str | None = None
    retry_after: float | None = None
    logins: int = 1


ERROR_CASES = {
    "403 portal disabled": ErrorCase(
        [{"status": 403, "payload": absorb_error(403, "Disabled"), "repeat": 2}],
        VendorAuthError, calls=2, status=403, vendor_code="403", logins=2,
    ),
    "404": ErrorCase(
        [{"status": 404, "payload": absorb_error(404, "Not found")}],
        VendorNotFound, calls=1, status=404, vendor_code="404",
    ),
    "422 bad filter": ErrorCase(
        [{"status": 422, "payload": load_fixture("absorb", "error-validation")}],
        VendorRejectedRequest, calls=1, status=422, vendor_code="422",
    ),
    "400 with the seed's body (code 0)": ErrorCase(
        [{"status": 400, "payload": load_fixture("absorb", "error-seed")}],
        VendorRejectedRequest, calls=1, status=400,
    ),
    "429 with a long Retry-After": ErrorCase(
        [{"status": 429, "payload": absorb_error(429), "headers": {"Retry-After": "30"}}],
        VendorRateLimited, calls=1, status=429, vendor_code="429", retry_after=30.0,
    ),
    "429 until attempts run out": ErrorCase(
        [{"status": 429, "repeat": 3}], VendorRateLimited, calls=3, status=429,
    ),
    "500 three times": ErrorCase(
        [{"status": 500, "payload": absorb_error(500, "Boom"), "repeat": 3}],
        VendorUnavailable, calls=3, status=500, vendor_code="500",
    ),
    "503 HTML page": ErrorCase(
        [{"status": 503, "body": "<html>down</html>", "content_type": "text/html", "repeat": 3}],
        VendorUnavailable, calls=3, status=503,
    ),
    "200 not JSON": ErrorCase(
        [{"body": "<html>", "content_type": "text/html"}], VendorBadResponse, calls=1, status=200
    ),
    "200 without users": ErrorCase(
        [{"payload": {"totalItems": 1, "courses": []}}], VendorBadResponse, calls=1, status=200
    ),
    "200 with an error body": ErrorCase(
        [{"payload": load_fixture("absorb", "error-seed")}], VendorBadResponse, calls=1, status=200
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(ERROR_CASES.values()), ids=list(ERROR_CASES))
async def test_error_classification(
    absorb: AbsorbConnector, mock_http: StrictAioresponses, slept: list[float], case: ErrorCase
) -> None:
    login(mock_http, repeat=case.logins)
    for response in case.responses:
        mock_http.get(users(), **response)
    with pytest.raises(case.raised) as caught:
        await absorb.list_users(ListQuery(), None, 10)
    error = caught.value
    assert type(error) is case.raised
    assert sum(c.method == "GET" for c in mock_http.calls) == case.calls
    assert sum(c.method == "POST" for c in mock_http.calls) == case.logins
    assert (error.status, error.vendor_code, error.retry_after) == (
        case.status,
        case.vendor_code,
        case.retry_after,
    )
    assert (error.source, error.vendor, error.method, error.path) == (
        ABSORB_SOURCE,
        "absorb",
        "GET",
        "/users",
    )
    assert error.code == case.raised.code
    assert ABSORB_SOURCE in str(error)
    assert_safe(error)


async def test_short_retry_after_is_waited_for(
    absorb: AbsorbConnector, mock_http: StrictAioresponses, slept: list[float]
) -> None:
    login(mock_http)
    mock_http.get(users(), status=429, payload=absorb_error(429), headers={"Retry-After": "2"})
    mock_http.get(users(), payload=users_page(ANN))
    assert len((await absorb.list_users(ListQuery(), None, 10)).items) == 1
    assert slept == [2.0]


async def test_a_failed_call_in_a_fan_out_fails_the_batch_after_all_are_done(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    login(mock_http)
    mock_http.get(url(f"/enrollments/{DONE}"), status=401, payload=absorb_error(401), repeat=2)
    login(mock_http, "tok-second")
    mock_http.get(url(f"/enrollments/{STARTED}"), payload=enrollments(STARTED)[0])
    with pytest.raises(VendorAuthError) as caught:
        await absorb.fetch_progressions([DONE, STARTED])
    assert caught.value.path == f"/enrollments/{DONE}"
    assert_safe(caught.value)


async def test_the_chunks_of_bulk_and_filtered_look_ups_are_sent_at_once(
    absorb: AbsorbConnector, mock_http: StrictAioresponses
) -> None:
    ids = [guid(n) for n in range(120)]
    login(mock_http)
    bulk_calls = InFlight([])
    for start in (0, 50, 100):
        mock_http.get(bulk(*ids[start : start + 50]), callback=bulk_calls.respond)
    await absorb.fetch_progressions_of_users(ids)
    assert (len(bulk_calls.paths), bulk_calls.most) == (3, 3)
    filtered = InFlight(users_page(total=0, limit=1000))
    mock_http.get(re.compile(r".*/users\?.*"), callback=filtered.respond, repeat=3)
    await absorb.fetch_users(ids)
    assert (len(filtered.paths), filtered.most) == (3, 3)
