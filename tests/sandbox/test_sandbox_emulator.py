"""The emulator server: lifecycle, request log, fault injection and latency."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from connectors.sandbox import (
    DEMO_KOMBO_API_KEY,
    DEMO_KOMBO_INTEGRATION_ID,
    Emulator,
    KomboTenant,
    RecordedRequest,
    demo_tenants,
)

HEADERS = {
    "Authorization": f"Bearer {DEMO_KOMBO_API_KEY}",
    "X-Integration-Id": DEMO_KOMBO_INTEGRATION_ID,
}


async def fetch(
    http: aiohttp.ClientSession, emulator: Emulator, path: str, **params: str
) -> tuple[int, bytes, Any]:
    url = emulator.kombo_base_url + path
    async with http.get(url, params=params, headers=HEADERS) as response:
        return response.status, await response.read(), response.headers


def test_demo_tenant_credentials() -> None:
    (tenant,) = demo_tenants(users=10)
    assert tenant.api_key == "demo-kombo-key"
    assert tenant.integration_id == "demo:acme-learning"
    assert len(tenant.world.users) == 10
    assert "demo-kombo-key" not in repr(tenant)


async def test_serves_on_loopback_and_stops(tenants: list[KomboTenant]) -> None:
    emulator = Emulator(tenants)
    with pytest.raises(RuntimeError):
        _ = emulator.base_url
    await emulator.start()
    try:
        assert emulator.base_url.startswith("http://127.0.0.1:")
        assert emulator.kombo_base_url == emulator.base_url + "/kombo/v1"
        async with aiohttp.ClientSession() as http:
            status, _, _ = await fetch(http, emulator, "/lms/skills")
        assert status == 200
    finally:
        await emulator.stop()
    await emulator.stop()  # idempotent


async def test_request_log_records_every_request(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    await fetch(http, emulator, "/lms/users", page_size="2")
    await fetch(http, emulator, "/lms/skills")
    async with http.get(emulator.kombo_base_url + "/lms/users") as response:  # no credentials
        assert response.status == 401
    assert emulator.requests == [
        RecordedRequest("kombo", "GET", "/lms/users", {"page_size": "2"}, 200),
        RecordedRequest("kombo", "GET", "/lms/skills", {}, 200),
        RecordedRequest("kombo", "GET", "/lms/users", {}, 401),
    ]
    assert emulator.count() == 3
    assert emulator.count("kombo", "/lms/users") == 2
    assert emulator.count(path="/lms/skills") == 1
    assert emulator.count(vendor="other") == 0
    emulator.requests.clear()  # a copy: the log itself is untouched
    assert emulator.count() == 3
    emulator.clear_requests()
    assert emulator.requests == []


async def test_fault_once_then_ok(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault("kombo", "/lms/users")
    status, body, _ = await fetch(http, emulator, "/lms/users")
    assert status == 500
    assert b"PLATFORM.UNKNOWN_ERROR" in body
    status, _, _ = await fetch(http, emulator, "/lms/users")
    assert status == 200
    assert [r.status for r in emulator.requests] == [500, 200]


async def test_fault_only_hits_its_path(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault("kombo", "/lms/courses", status=503)
    assert (await fetch(http, emulator, "/lms/users"))[0] == 200
    assert (await fetch(http, emulator, "/lms/courses"))[0] == 503


async def test_garbage_body_with_status_200(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    emulator.inject_fault("kombo", status=200, body="<html>oops")
    status, body, _ = await fetch(http, emulator, "/lms/skills")
    assert (status, body) == (200, b"<html>oops")


async def test_rate_limit_with_json_body_and_headers(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    body = {"status": "error", "error": {"code": "PLATFORM.RATE_LIMIT_EXCEEDED"}}
    emulator.inject_fault("kombo", status=429, body=body, headers={"Retry-After": "1"})
    status, raw, headers = await fetch(http, emulator, "/lms/users")
    assert status == 429
    assert headers["Retry-After"] == "1"
    assert headers["Content-Type"].startswith("application/json")
    assert b"PLATFORM.RATE_LIMIT_EXCEEDED" in raw


async def test_fault_until_cleared(emulator: Emulator, http: aiohttp.ClientSession) -> None:
    emulator.inject_fault("kombo", status=502, times=None)
    for _ in range(3):
        assert (await fetch(http, emulator, "/lms/users"))[0] == 502
    emulator.clear_faults()
    assert (await fetch(http, emulator, "/lms/users"))[0] == 200
    assert emulator.count(vendor="kombo") == 4


async def test_fault_delay_emulates_a_hanging_vendor(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    emulator.inject_fault("kombo", status=200, body={}, delay_seconds=0.5)
    url = emulator.kombo_base_url + "/lms/users"
    with pytest.raises(TimeoutError):
        async with http.get(url, headers=HEADERS, timeout=aiohttp.ClientTimeout(total=0.05)):
            pass
    assert (await fetch(http, emulator, "/lms/users"))[0] == 200


def test_invalid_faults_are_refused(tenants: list[KomboTenant]) -> None:
    emulator = Emulator(tenants)
    with pytest.raises(ValueError, match="vendor"):
        emulator.inject_fault("kombi")
    with pytest.raises(ValueError, match="times"):
        emulator.inject_fault("kombo", times=0)


async def test_latency_is_added_to_every_response(
    emulator: Emulator, http: aiohttp.ClientSession
) -> None:
    emulator.latency_seconds = 0.1
    started = time.perf_counter()
    await fetch(http, emulator, "/lms/skills")
    assert time.perf_counter() - started >= 0.1
    emulator.latency_seconds = 0.0
    started = time.perf_counter()
    await fetch(http, emulator, "/lms/skills")
    assert time.perf_counter() - started < 0.1
