"""The transport's guards against the emulator: the deadline, the body cap, the breaker."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest
from pydantic import SecretStr

from connectors._http import RetryPolicy
from connectors.base import ListQuery
from connectors.breaker import BreakerState, CircuitBreaker
from connectors.deadline import bind_deadline
from connectors.errors import VendorBadResponse, VendorTimeout, VendorUnavailable
from connectors.kombo import KomboConnector
from connectors.sandbox import Emulator, demo_emulator, kombo_error_body
from connectors.sandbox.server import DEMO_KOMBO_API_KEY, DEMO_KOMBO_INTEGRATION_ID
from tests.faults.helpers import until


def _logged(emulator: Emulator) -> Callable[[], Awaitable[bool]]:
    async def logged() -> bool:
        return emulator.count("kombo", "/lms/users") > 0

    return logged


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with demo_emulator(seed=5, users=3) as running:
        yield running


def kombo(emulator: Emulator, **extra: object) -> KomboConnector:
    return KomboConnector(
        name="k",
        base_url=emulator.kombo_base_url,
        api_key=SecretStr(DEMO_KOMBO_API_KEY),
        integration_id=DEMO_KOMBO_INTEGRATION_ID,
        **extra,  # type: ignore[arg-type]
    )


async def test_a_hanging_call_is_cut_at_the_deadline(emulator: Emulator) -> None:
    emulator.inject_fault("kombo", "/lms/users", mode="hang", times=None)
    connector = kombo(emulator)
    await connector.open()
    try:
        bind_deadline(0.3)
        started = time.perf_counter()
        with pytest.raises(VendorTimeout) as caught:
            await connector.list_users(ListQuery(), None, 5)
        assert time.perf_counter() - started < 1.0
        assert caught.value.code == "SOURCE_TIMEOUT"
        assert caught.value.detail == "no answer before the request's deadline"
        with pytest.raises(VendorTimeout) as passed:
            await connector.list_users(ListQuery(), None, 5)  # no call once it has passed
        assert passed.value.detail == "the request's deadline passed before the call"
        for error in (caught.value, passed.value):
            assert (error.method, error.path) == ("GET", "/lms/users")
    finally:
        await connector.close()
    await until(_logged(emulator))  # the emulator logs the closed call when it notices
    assert [r.status for r in emulator.requests] == [499]


async def test_no_retry_whose_wait_passes_the_deadline(emulator: Emulator) -> None:
    emulator.inject_fault("kombo", "/lms/users", status=503, headers={"Retry-After": "1"})
    connector = kombo(emulator)
    await connector.open()
    try:
        bind_deadline(0.5)
        with pytest.raises(VendorUnavailable):
            await connector.list_users(ListQuery(), None, 5)
    finally:
        await connector.close()
    assert emulator.count("kombo", "/lms/users") == 1


@pytest.mark.parametrize("mode", ["status", "oversized"])
async def test_a_body_past_the_cap_is_cut(emulator: Emulator, mode: str) -> None:
    # "status" sends a Content-Length (refused on the headers); "oversized" streams chunks.
    body = {"padding": "x" * 10_000}
    options = {"body": body, "status": 200} if mode == "status" else {"size_bytes": 10_000_000}
    emulator.inject_fault("kombo", "/lms/users", mode=mode, **options)  # type: ignore[arg-type]
    connector = kombo(emulator, max_response_bytes=4096)
    await connector.open()
    try:
        with pytest.raises(VendorBadResponse, match="larger than 4096 bytes") as cut:
            await connector.list_users(ListQuery(), None, 5)
    finally:
        await connector.close()
    assert (cut.value.status, cut.value.method, cut.value.path) == (200, "GET", "/lms/users")


async def test_an_open_breaker_refuses_without_a_call(emulator: Emulator) -> None:
    emulator.inject_fault("kombo", "/lms/users", status=502, times=None)
    breaker = CircuitBreaker(2, 60.0)
    connector = kombo(emulator, breaker=breaker)
    await connector.open()
    try:
        with pytest.raises(VendorUnavailable) as failed:
            await connector.list_users(ListQuery(), None, 5)
        # Two outages opened it between tries: the caller gets the vendor's own failure.
        assert (failed.value.status, failed.value.breaker) == (502, "OPEN")
        assert breaker.state is BreakerState.OPEN
        with pytest.raises(VendorUnavailable) as refused:
            await connector.list_users(ListQuery(), None, 5)
        assert (refused.value.status, refused.value.breaker) == (None, "OPEN")
        assert (refused.value.method, refused.value.path) == ("GET", "/lms/users")
        assert refused.value.detail.startswith(
            "circuit breaker OPEN after repeated failures; next probe in "
        )
    finally:
        await connector.close()
    assert emulator.count("kombo", "/lms/users") == 2


@pytest.mark.parametrize(
    ("status", "code", "outage"),
    [
        (500, None, True),  # the first 5xx counts
        # Retried like an outage (a setup still syncing), but the vendor is up: not counted.
        (409, "INTEGRATION.SETUP_SYNC_PENDING", False),
    ],
)
async def test_the_breaker_counts_only_outages(
    emulator: Emulator, status: int, code: str | None, outage: bool
) -> None:
    body = kombo_error_body(code, "failed")
    emulator.inject_fault("kombo", "/lms/users", status=status, body=body, times=None)
    breaker = CircuitBreaker(2, 60.0)
    connector = kombo(emulator, breaker=breaker, retry=RetryPolicy(max_attempts=2, base_delay=0))
    await connector.open()
    try:
        with pytest.raises(VendorUnavailable) as failed:
            await connector.list_users(ListQuery(), None, 5)
    finally:
        await connector.close()
    assert failed.value.status == status
    assert emulator.count("kombo", "/lms/users") == 2
    assert breaker.state is (BreakerState.OPEN if outage else BreakerState.CLOSED)


async def test_the_sources_own_timeout_ends_a_silent_call(emulator: Emulator) -> None:
    emulator.inject_fault("kombo", "/lms/users", mode="hang", times=None)
    quick = aiohttp.ClientTimeout(total=0.2)
    connector = kombo(emulator, timeout=quick, retry=RetryPolicy(max_attempts=1))
    await connector.open()
    try:
        bind_deadline(5.0)  # far later: the source's timeout comes first
        with pytest.raises(VendorUnavailable) as caught:
            await connector.list_users(ListQuery(), None, 5)
    finally:
        await connector.close()
    assert (caught.value.code, caught.value.detail) == ("SOURCE_UNAVAILABLE", "timed out")
    await until(_logged(emulator))


async def test_vendor_calls_ignore_proxy_settings_in_the_environment(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Where vendor calls go is the source's base_url alone, whatever the process inherits.
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    connector = kombo(emulator, retry=RetryPolicy(max_attempts=1))
    await connector.open()
    try:
        page = await connector.list_users(ListQuery(), None, 2)
    finally:
        await connector.close()
    assert len(page.items) == 2
    assert emulator.count("kombo", "/lms/users") == 1
