from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from aioresponses import CallbackResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr
from yarl import URL

from connectors._http import RetryPolicy, _retry_after_seconds, count_vendor_calls
from connectors.base import ListQuery
from connectors.breaker import BreakerState, CircuitBreaker
from connectors.deadline import bind_deadline
from connectors.errors import VendorNotFound, VendorRateLimited, VendorTimeout, VendorUnavailable
from connectors.kombo.client import KomboConnector
from connectors.observe import observe_calls
from graph.config import TracingSettings
from graph.metrics import Metrics
from graph.telemetry import RequestObserver
from graph.tracing import Tracing
from tests.connectors.kombo.env import (
    KOMBO_API_KEY,
    KOMBO_BASE_URL,
    KOMBO_INTEGRATION_ID,
    KOMBO_SOURCE,
)
from tests.connectors.kombo.test_client import SARAH, renamed_users, url, users_page
from tests.connectors.strict_mock import CompatClientResponse, StrictAioresponses

# -- RetryPolicy.delay ---------------------------------------------------------------------


@pytest.mark.parametrize("attempt", [3, 4, 10])
def test_delay_gives_up_at_max_attempts(attempt: int) -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.2, max_delay=3.0)
    assert policy.delay(attempt, None) is None


def test_delay_gives_up_at_max_attempts_even_with_retry_after() -> None:
    policy = RetryPolicy(max_attempts=3, max_retry_after=5.0)
    assert policy.delay(3, 1.0) is None


def test_delay_below_max_attempts_is_a_number() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0.2, max_delay=3.0)
    assert isinstance(policy.delay(1, None), float)
    assert isinstance(policy.delay(2, None), float)


@pytest.mark.parametrize("retry_after", [0.0, 1.5, 5.0])
def test_delay_honours_retry_after_up_to_the_maximum(retry_after: float) -> None:
    policy = RetryPolicy(max_attempts=4, base_delay=0.2, max_delay=3.0, max_retry_after=5.0)
    assert policy.delay(1, retry_after) == retry_after


@pytest.mark.parametrize("retry_after", [5.01, 60.0, float("inf")])
def test_delay_gives_up_when_retry_after_exceeds_the_maximum(retry_after: float) -> None:
    policy = RetryPolicy(max_attempts=4, max_retry_after=5.0)
    assert policy.delay(1, retry_after) is None


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(1, 0.2), (2, 0.4), (3, 0.8), (4, 1.6), (5, 3.0), (9, 3.0)],
)
def test_jitter_ceiling_doubles_up_to_max_delay(
    attempt: int, ceiling: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    bounds: list[tuple[float, float]] = []

    def fake_uniform(low: float, high: float) -> float:
        bounds.append((low, high))
        return high

    monkeypatch.setattr(random, "uniform", fake_uniform)  # the module _http draws from
    policy = RetryPolicy(max_attempts=10, base_delay=0.2, max_delay=3.0)
    assert policy.delay(attempt, None) == pytest.approx(ceiling)
    ((low, high),) = bounds
    assert low == 0
    assert high == pytest.approx(ceiling)


def test_jitter_stays_within_bounds_and_varies() -> None:
    random.seed(1234)
    policy = RetryPolicy(max_attempts=10, base_delay=0.2, max_delay=3.0)
    for attempt, ceiling in [(1, 0.2), (3, 0.8), (8, 3.0)]:
        samples = [policy.delay(attempt, None) for _ in range(200)]
        assert all(s is not None and 0 <= s <= ceiling for s in samples)
        assert len(set(samples)) > 100  # full jitter, not a fixed delay


def test_zero_delays_give_zero() -> None:
    policy = RetryPolicy(max_attempts=3, base_delay=0, max_delay=0)
    assert policy.delay(1, None) == 0
    assert policy.delay(2, None) == 0


# -- Retry-After parsing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("120", 120.0), ("0", 0.0), ("1.5", 1.5), ("-3", 0.0), (" 7 ", 7.0)],
)
def test_retry_after_in_seconds(header: str, seconds: float) -> None:
    assert _retry_after_seconds(header) == seconds


def test_retry_after_http_date_in_the_future() -> None:
    when = datetime.now(UTC) + timedelta(seconds=90)
    parsed = _retry_after_seconds(format_datetime(when, usegmt=True))
    assert parsed is not None
    assert 80 <= parsed <= 90  # the header has whole seconds


def test_retry_after_http_date_in_the_past_is_zero() -> None:
    assert _retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


@pytest.mark.parametrize(
    "header",
    [None, "", "soon", "Wed, 32 Oct 2015 07:28:00 GMT", "10 seconds", "1,5", "inf", "nan"],
)
def test_retry_after_garbage_is_none(header: str | None) -> None:
    assert _retry_after_seconds(header) is None


@pytest.mark.parametrize("header", ["Wed, 21 Oct 2015 07:28:00", "Wed, 21 Oct 2015 07:28:00 -0000"])
def test_retry_after_http_date_without_zone_does_not_raise(header: str) -> None:
    # Either reading: a past date treated as UTC (0.0) or an unreadable header (None).
    assert _retry_after_seconds(header) in (0.0, None)


# -- the transport over mocked HTTP: what it counts and tells the observer ------------------


async def test_every_try_is_counted_for_its_source(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    target = url("/lms/users", page_size="10")
    mock_http.get(target, status=503, repeat=2)
    mock_http.get(target, payload=users_page(SARAH), repeat=2)
    calls: Counter[str] = Counter()
    count_vendor_calls(calls)
    await kombo.list_users(ListQuery(), None, 10)
    assert calls == Counter({KOMBO_SOURCE: 3})  # two failed tries and the answer
    await kombo.list_users(ListQuery(), None, 10)
    assert calls == Counter({KOMBO_SOURCE: 4})


async def test_each_try_is_a_span_and_each_retry_a_counted_reason(
    kombo: KomboConnector, mock_http: StrictAioresponses
) -> None:
    exporter = InMemorySpanExporter()
    metrics = Metrics()
    tracing = Tracing(TracingSettings(service_name="lms-graph-test"), exporter)
    observe_calls(RequestObserver(metrics, tracing))
    target = url("/lms/users", page_size="10")
    mock_http.get(target, status=503, repeat=2)
    mock_http.get(target, payload=users_page(SARAH))
    await kombo.list_users(ListQuery(), None, 10)
    spans = exporter.get_finished_spans()
    assert [span.name for span in spans] == [f"GET {KOMBO_SOURCE} /lms/users"] * 3
    tries = [dict(span.attributes or {}) for span in spans]
    assert [
        (t["lms_graph.retry_count"], t["http.response.status_code"], t.get("error.type"))
        for t in tries
    ] == [(0, 503, "SOURCE_UNAVAILABLE"), (1, 503, "SOURCE_UNAVAILABLE"), (2, 200, None)]
    for attributes in tries:
        assert {
            key: attributes[key]
            for key in (
                "lms_graph.source",
                "lms_graph.vendor",
                "http.request.method",
                "url.template",
            )
        } == {
            "lms_graph.source": KOMBO_SOURCE,
            "lms_graph.vendor": "kombo",
            "http.request.method": "GET",
            "url.template": "/lms/users",
        }
    where = {"source": KOMBO_SOURCE, "endpoint": "/lms/users"}
    sample = metrics.registry.get_sample_value
    assert sample("lms_graph_vendor_retries_total", {**where, "reason": "SOURCE_UNAVAILABLE"}) == 2
    assert sample("lms_graph_vendor_requests_total", {**where, "status": "503"}) == 2


# -- the breaker's bookkeeping around each attempt, on the loop's clock ---------------------


COOLDOWN = 10.0  # of every breaker below


class LoopClock:
    """The running loop's clock, moved only by the test, and the breaker's clock too: the
    transport times its attempts and the request's deadline on the loop, so a vendor that
    stays silent for a second costs the test no second."""

    def __init__(self) -> None:
        self.now = 1000.0  # a whole number of seconds: durations come out exact

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def clock() -> AsyncIterator[LoopClock]:
    moved = LoopClock()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(asyncio.get_running_loop(), "time", moved)
        yield moved


def kombo_with(**extra: Any) -> KomboConnector:
    """A Kombo source on the mocked API, with one try per call unless ``extra`` says more."""
    settings: dict[str, Any] = {"retry": RetryPolicy(max_attempts=1), **extra}
    return KomboConnector(
        name=KOMBO_SOURCE,
        base_url=KOMBO_BASE_URL,
        api_key=SecretStr(KOMBO_API_KEY),
        integration_id=KOMBO_INTEGRATION_ID,
        **settings,
    )


class SilentAtFirst:
    """The users endpoint of a vendor that first stays silent while ``seconds`` pass on
    ``clock`` (until the call is cut or cancelled: the mock of such a call stays
    registered, hence one mock for every call), then answers a page."""

    def __init__(self, clock: LoopClock, seconds: float) -> None:
        self.clock, self.seconds = clock, seconds
        self.heard = asyncio.Event()  # the silent call is in flight

    async def answer(self, _url: URL, **_kwargs: Any) -> CallbackResult:
        if not self.heard.is_set():
            self.heard.set()
            self.clock.now += self.seconds
            await asyncio.Event().wait()
        return CallbackResult(response_class=CompatClientResponse, payload=users_page(SARAH))


async def half_open(
    connector: KomboConnector, mock_http: StrictAioresponses, clock: LoopClock
) -> None:
    """Open the breaker (threshold 1) with one 503, then let its cooldown pass."""
    mock_http.get(url("/lms/users", page_size="10"), status=503)
    with pytest.raises(VendorUnavailable):
        await connector.list_users(ListQuery(), None, 10)
    assert connector.breaker.state is BreakerState.OPEN
    clock.now += COOLDOWN
    assert connector.breaker.state is BreakerState.HALF_OPEN


async def answers_the_next_probe(connector: KomboConnector) -> None:
    """The next call is let through as the probe, and its answer closes the breaker."""
    page = await connector.list_users(ListQuery(), None, 10)
    assert [user.id for user in page.items] == [SARAH]
    assert connector.breaker.state is BreakerState.CLOSED


@pytest.mark.parametrize(
    ("silence", "counted"),
    [
        (0.5, False),  # cut early: the request's deadline was short, the vendor may be fine
        (1.0, True),  # a second without an answer counts as an outage: the probe failed
    ],
)
async def test_a_probe_cut_by_the_deadline_counts_as_an_outage_only_after_a_second(
    mock_http: StrictAioresponses, clock: LoopClock, silence: float, counted: bool
) -> None:
    connector = kombo_with(breaker=CircuitBreaker(1, COOLDOWN, clock=clock))
    await connector.open()
    try:
        await half_open(connector, mock_http, clock)
        silent = SilentAtFirst(clock, silence)
        mock_http.get(url("/lms/users", page_size="10"), callback=silent.answer, repeat=True)
        bind_deadline(silence)
        with pytest.raises(VendorTimeout, match="no answer before the request's deadline"):
            await connector.list_users(ListQuery(), None, 10)
        bind_deadline(60)  # the next request's
        if counted:
            assert connector.breaker.state is BreakerState.OPEN
            assert connector.breaker.retry_in == COOLDOWN
            clock.now += COOLDOWN
        else:
            assert connector.breaker.state is BreakerState.HALF_OPEN
        # Either way the probe's slot is free again: one more call goes through.
        await answers_the_next_probe(connector)
    finally:
        await connector.close()


@pytest.mark.parametrize(
    ("status", "reopened"),
    [
        (503, True),  # the vendor is still down: open for another cooldown
        (404, False),  # the vendor answered, if only to say no: it is back
    ],
)
async def test_a_probe_answered_with_an_error_decides_the_breaker(
    mock_http: StrictAioresponses, clock: LoopClock, status: int, reopened: bool
) -> None:
    connector = kombo_with(breaker=CircuitBreaker(1, COOLDOWN, clock=clock))
    await connector.open()
    try:
        await half_open(connector, mock_http, clock)
        mock_http.get(url("/lms/users", page_size="10"), status=status)
        with pytest.raises(VendorUnavailable if reopened else VendorNotFound):
            await connector.list_users(ListQuery(), None, 10)
        if reopened:
            assert connector.breaker.state is BreakerState.OPEN
            assert connector.breaker.retry_in == COOLDOWN
            clock.now += COOLDOWN
        else:
            assert connector.breaker.state is BreakerState.CLOSED
        mock_http.get(url("/lms/users", page_size="10"), payload=users_page(SARAH))
        await answers_the_next_probe(connector)
    finally:
        await connector.close()


async def test_a_probe_whose_caller_left_frees_its_slot(mock_http: StrictAioresponses) -> None:
    clock = LoopClock()  # the breaker's only: this test waits on the loop's real clock
    connector = kombo_with(breaker=CircuitBreaker(1, COOLDOWN, clock=clock))
    await connector.open()
    try:
        await half_open(connector, mock_http, clock)
        silent = SilentAtFirst(clock, 0)
        mock_http.get(url("/lms/users", page_size="10"), callback=silent.answer, repeat=True)
        probe = asyncio.create_task(connector.list_users(ListQuery(), None, 10))
        await asyncio.wait_for(silent.heard.wait(), 5)
        probe.cancel()  # the client disconnected
        with pytest.raises(asyncio.CancelledError):
            await probe
        assert connector.breaker.state is BreakerState.HALF_OPEN
        await answers_the_next_probe(connector)
    finally:
        await connector.close()


async def test_a_deadline_reached_before_the_call_sends_nothing(
    mock_http: StrictAioresponses, clock: LoopClock
) -> None:
    connector = kombo_with()
    await connector.open()
    calls: Counter[str] = Counter()
    count_vendor_calls(calls)
    try:
        bind_deadline(0)  # due this very instant: nothing is left to wait for an answer
        with pytest.raises(VendorTimeout, match="the request's deadline passed before the call"):
            await connector.list_users(ListQuery(), None, 10)
    finally:
        await connector.close()
    assert (calls, mock_http.calls) == (Counter(), [])


async def test_no_retry_whose_wait_would_end_right_at_the_deadline(
    mock_http: StrictAioresponses, slept: list[float], clock: LoopClock
) -> None:
    connector = kombo_with(retry=RetryPolicy(max_attempts=3))
    await connector.open()
    mock_http.get(url("/lms/users", page_size="10"), status=429, headers={"Retry-After": "2"})
    try:
        bind_deadline(2)  # the retry would start with no time left for its answer
        with pytest.raises(VendorRateLimited) as caught:
            await connector.list_users(ListQuery(), None, 10)
    finally:
        await connector.close()
    assert caught.value.retry_after == 2.0
    assert (slept, len(mock_http.calls)) == ([], 1)


@pytest.mark.parametrize("declared", [True, False], ids=["Content-Length", "streamed"])
async def test_a_body_of_exactly_the_cap_is_read(
    mock_http: StrictAioresponses, declared: bool
) -> None:
    body = json.dumps(users_page(SARAH)).encode()
    headers = {"Content-Length": str(len(body))} if declared else {}
    connector = kombo_with(max_response_bytes=len(body))
    await connector.open()
    mock_http.get(url("/lms/users", page_size="10"), body=body, headers=headers)
    try:
        page = await connector.list_users(ListQuery(), None, 10)
    finally:
        await connector.close()
    assert [user.id for user in page.items] == [SARAH]


async def test_a_body_of_many_chunks_is_read_whole(mock_http: StrictAioresponses) -> None:
    ids = [f"user{n:04d}" for n in range(120)]
    body = json.dumps(renamed_users(ids)).encode()
    assert len(body) > 64 * 1024  # the transport reads 64 KiB at a time
    connector = kombo_with()
    await connector.open()
    mock_http.get(url("/lms/users", page_size="120"), body=body)
    try:
        page = await connector.list_users(ListQuery(), None, 120)
    finally:
        await connector.close()
    assert [user.id for user in page.items] == ids
