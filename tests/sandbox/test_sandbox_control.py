"""The emulator's fault control over HTTP: add, list, expire, clear, and the request log."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator

import pytest

from connectors.sandbox import Emulator, demo_emulator
from connectors.sandbox.control import EmulatorControl
from connectors.sandbox.server import DEMO_SKILLJAR_API_KEY

BASIC = base64.b64encode(f"{DEMO_SKILLJAR_API_KEY}:".encode()).decode()
HEADERS = {"Authorization": f"Basic {BASIC}"}


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with demo_emulator(seed=3, users=4) as running:
        yield running


async def status_of(control: EmulatorControl, emulator: Emulator, path: str) -> int:
    url = emulator.vendor_base_url("skilljar") + path
    async with control.session.get(url, headers=HEADERS) as response:
        await response.read()
        return response.status


async def test_faults_match_a_pattern_for_a_count(
    emulator: Emulator, control: EmulatorControl
) -> None:
    fault = await control.add_fault(vendor="skilljar", path="/v1/users*", status=503, count=2)
    assert fault["left"] == 2
    assert [await status_of(control, emulator, "/v1/users") for _ in range(3)] == [503, 503, 200]
    assert await status_of(control, emulator, "/v1/courses") == 200
    assert await control.faults() == []
    log = await control.requests()
    assert [(r["path"], r["status"]) for r in log["requests"]] == [
        ("/v1/users", 503),
        ("/v1/users", 503),
        ("/v1/users", 200),
        ("/v1/courses", 200),
    ]
    assert all(r["received_at"] >= 0 for r in log["requests"])
    assert log["in_flight"] == []
    await control.clear_requests()
    assert (await control.requests())["requests"] == []


async def test_a_fault_with_a_duration_expires(
    emulator: Emulator, control: EmulatorControl
) -> None:
    await control.add_fault(vendor="skilljar", status=500, count=None, duration_seconds=0.2)
    assert await status_of(control, emulator, "/v1/users") == 500
    while await control.faults():
        await asyncio.sleep(0.05)  # bounded by the fault's duration
        await status_of(control, emulator, "/v1/courses")
    assert await status_of(control, emulator, "/v1/users") == 200


async def test_clear_one_or_all(emulator: Emulator, control: EmulatorControl) -> None:
    first = await control.add_fault(vendor="skilljar", status=500, count=None)
    await control.add_fault(vendor="kombo", status=500, count=None)
    url = f"{emulator.base_url}/__emulator/faults/{first['id']}"
    async with control.session.delete(url) as response:
        assert response.status == 204
    assert [f["vendor"] for f in await control.faults()] == ["kombo"]
    await control.clear_faults()
    assert await control.faults() == []


@pytest.mark.parametrize(
    "spec",
    [
        {"vendor": "nope"},
        {"vendor": "kombo", "mode": "explode"},
        {"vendor": "kombo", "count": 0},
        {"vendor": "kombo", "colour": "red"},
    ],
)
async def test_bad_faults_are_refused(control: EmulatorControl, spec: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="fault refused"):
        await control.add_fault(**spec)
    assert await control.faults() == []


async def test_retry_after_and_html(emulator: Emulator, control: EmulatorControl) -> None:
    await control.add_fault(vendor="skilljar", status=429, retry_after="7")
    await control.add_fault(vendor="skilljar", mode="html", status=502)
    url = emulator.vendor_base_url("skilljar") + "/v1/users"
    async with control.session.get(url, headers=HEADERS) as response:
        assert (response.status, response.headers["Retry-After"]) == (429, "7")
    async with control.session.get(url, headers=HEADERS) as response:
        assert response.status == 502
        assert response.headers["Content-Type"].startswith("text/html")
