"""Each fault, driven through the emulator's control endpoint, against the real server.

For every fault: the answer arrives within the deadline plus a small margin, the other
sources' data is intact, the error names the source and its code, and the emulator's
log shows the retries the policy allows (count and spacing).
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from connectors.sandbox import Emulator
from connectors.sandbox.control import EmulatorControl
from tests.faults.helpers import (
    DEADLINE,
    MARGIN,
    USERS_PATH,
    Answer,
    ask,
    guarded,
    until,
    vendor_calls,
)
from tests.harness import DEMO_SOURCES

ALL = set(DEMO_SOURCES.values())
MAX_RESPONSE = 256 * 1024

#: mode -> (fault spec, code, vendor calls made: 3 tries when retriable, else 1)
FAULTS: dict[str, tuple[dict[str, Any], str, int]] = {
    "status": ({"status": 503, "retry_after": "0.2"}, "SOURCE_UNAVAILABLE", 3),
    "reset": ({}, "SOURCE_UNAVAILABLE", 3),
    "html": ({}, "SOURCE_BAD_RESPONSE", 1),
    "garbage": ({}, "SOURCE_BAD_RESPONSE", 1),
    # Without its list the envelope is wrong; records without an ID: see below.
    "missing_field": ({"field": "results"}, "SOURCE_BAD_RESPONSE", 1),
    "oversized": ({"size_bytes": 4 * MAX_RESPONSE}, "SOURCE_BAD_RESPONSE", 1),
    "hang": ({}, "SOURCE_TIMEOUT", 1),
}


def source_error(answer: Answer, source: str) -> dict[str, Any]:
    (error,) = [e for e in answer.errors() if e["extensions"].get("source") == source]
    assert "Traceback" not in str(answer.body)
    return error


@pytest.mark.parametrize("mode", sorted(FAULTS))
async def test_each_fault_is_named_bounded_and_alone(
    emulator: Emulator, control: EmulatorControl, mode: str
) -> None:
    spec, code, calls = FAULTS[mode]
    path = USERS_PATH["kombo"]
    async with guarded(emulator, max_response_bytes=MAX_RESPONSE) as server:
        await control.add_fault(vendor="kombo", path=path, mode=mode, count=None, **spec)
        answer = await ask(server)
        await control.clear_faults()

    assert answer.seconds < DEADLINE + MARGIN
    assert answer.sources() == ALL - {"kombo-demo"}
    error = source_error(answer, "kombo-demo")
    assert error["extensions"]["code"] == code
    assert error["path"] == ["users"]
    await until(lambda: _settled(control, path, calls))
    tries = vendor_calls(await control.requests(), "kombo", path)
    assert len(tries) == calls
    if mode == "status":  # Retry-After: 0.2 between the tries
        gaps = [b["received_at"] - a["received_at"] for a, b in itertools.pairwise(tries)]
        assert all(gap >= 0.19 for gap in gaps), gaps
    if mode == "hang":  # cut at the deadline: the hanging request was closed, not answered
        assert tries[0]["status"] == 499
        assert answer.seconds >= DEADLINE - 0.05


async def test_records_missing_their_id_are_skipped_with_one_warning(
    emulator: Emulator, control: EmulatorControl
) -> None:
    path = USERS_PATH["kombo"]
    async with guarded(emulator, max_response_bytes=MAX_RESPONSE) as server:
        await control.add_fault(vendor="kombo", path=path, mode="missing_field", field="id")
        answer = await ask(server)
        await control.clear_faults()
    assert answer.sources() == ALL - {"kombo-demo"}  # every Kombo record lacked its ID
    (warning,) = [e for e in answer.errors() if e["extensions"].get("source") == "kombo-demo"]
    assert warning["extensions"]["code"] == "SOURCE_BAD_RECORD"
    assert warning["extensions"]["endpoint"] == path
    assert warning["extensions"]["count"] > 0
    assert len(vendor_calls(await control.requests(), "kombo", path)) == 1


async def _settled(control: EmulatorControl, path: str, calls: int) -> bool:
    log = await control.requests()
    return len(vendor_calls(log, "kombo", path)) >= calls and not log["in_flight"]


async def test_a_retry_after_past_the_deadline_is_not_waited_for(
    emulator: Emulator, control: EmulatorControl
) -> None:
    path = USERS_PATH["stackone"]
    async with guarded(emulator) as server:
        await control.add_fault(
            vendor="stackone", path=path, status=429, retry_after="5", count=None
        )
        answer = await ask(server)

    assert answer.seconds < DEADLINE  # neither 5 s nor the deadline
    error = source_error(answer, "stackone-demo")
    assert error["extensions"]["code"] == "SOURCE_RATE_LIMITED"
    assert error["extensions"]["retryAfterSeconds"] == 5
    assert len(vendor_calls(await control.requests(), "stackone", path)) == 1
    assert answer.sources() == ALL - {"stackone-demo"}


@pytest.mark.parametrize("vendor", sorted(USERS_PATH))
async def test_a_hanging_vendor_costs_the_deadline_not_more(
    emulator: Emulator, control: EmulatorControl, vendor: str
) -> None:
    async with guarded(emulator) as server:
        await control.add_fault(vendor=vendor, path=USERS_PATH[vendor], mode="hang", count=None)
        answer = await ask(server)

    assert DEADLINE - 0.05 <= answer.seconds < DEADLINE + MARGIN
    source = DEMO_SOURCES[vendor]
    assert source_error(answer, source)["extensions"]["code"] == "SOURCE_TIMEOUT"
    assert answer.sources() == ALL - {source}


async def test_per_user_calls_hanging_null_one_field_each_within_the_deadline(
    emulator: Emulator, control: EmulatorControl
) -> None:
    query = """{ users(first: 40, sources: ["skilljar-demo", "kombo-demo"]) { edges { node {
        source email progressions(first: 5) { edges { node { id } } } } } } }"""
    async with guarded(emulator) as server:
        await control.add_fault(
            vendor="skilljar", path="/v1/users/*/published-courses", mode="hang", count=None
        )
        answer = await ask(server, query)

    assert answer.seconds < DEADLINE + MARGIN
    nodes = [edge["node"] for edge in answer.body["data"]["users"]["edges"]]
    assert {n["source"] for n in nodes} == {"skilljar-demo", "kombo-demo"}
    assert all(n["progressions"] is not None for n in nodes if n["source"] == "kombo-demo")
    assert all(n["progressions"] is None for n in nodes if n["source"] == "skilljar-demo")
    codes = {e["extensions"]["code"] for e in answer.errors()}
    assert codes == {"SOURCE_TIMEOUT"}
