"""The HTTP edge under faults: a client that leaves cancels its vendor calls (but not
calls shared with others), each failed source is logged once with the request's ID and
no credential, and a body that never finishes arriving is dropped."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from urllib.parse import urlsplit

import pytest

from connectors.sandbox import Emulator
from connectors.sandbox.control import EmulatorControl
from connectors.sandbox.server import (
    DEMO_ABSORB_API_KEY,
    DEMO_ABSORB_PASSWORD,
    DEMO_KOMBO_API_KEY,
    DEMO_SKILLJAR_API_KEY,
    DEMO_STACKONE_API_KEY,
)
from graph.config import CacheSettings, ServerSettings
from tests.faults.helpers import MARGIN, NO_CACHE, USERS_PATH, ask, guarded, until, vendor_calls
from tests.harness import GraphQLServer, demo_sources, run_server

PATH = USERS_PATH["kombo"]
KOMBO_USERS = '{ users(first: 40, source: "kombo-demo") { edges { node { id } } } }'
SECRETS = [
    DEMO_ABSORB_API_KEY,
    DEMO_ABSORB_PASSWORD,
    DEMO_KOMBO_API_KEY,
    DEMO_SKILLJAR_API_KEY,
    DEMO_STACKONE_API_KEY,
]


async def _hanging(control: EmulatorControl) -> bool:
    return any(r["path"] == PATH for r in (await control.requests())["in_flight"])


async def _closed(control: EmulatorControl) -> bool:
    return [r["status"] for r in vendor_calls(await control.requests(), "kombo", PATH)] == [499]


@pytest.mark.parametrize(
    ("cache", "method"),
    [(NO_CACHE, "POST"), (CacheSettings(), "POST"), (NO_CACHE, "GET")],
    ids=["no-cache", "cache", "get"],
)
async def test_a_client_that_leaves_cancels_its_vendor_call(
    emulator: Emulator, control: EmulatorControl, cache: CacheSettings, method: str
) -> None:
    # A deadline far away: only the disconnect can end the hanging call this soon.
    async with guarded(emulator, cache=cache, deadline=30) as server:
        await control.add_fault(vendor="kombo", path=PATH, mode="hang", count=None)
        asking = asyncio.create_task(
            ask(server, KOMBO_USERS) if method == "POST" else _get(server, KOMBO_USERS)
        )
        await until(lambda: _hanging(control))
        asking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asking
        await until(lambda: _closed(control), seconds=3)


async def _get(server: GraphQLServer, query: str) -> None:
    async with server.session.get(server.url + "/graphql", params={"query": query}) as response:
        await response.read()


async def _misses(server: GraphQLServer) -> int:
    body = await ask(server, "{ sources { name cache { misses } } }")
    (kombo,) = [s for s in body.body["data"]["sources"] if s["name"] == "kombo-demo"]
    misses: int = kombo["cache"]["misses"]
    return misses


async def test_a_call_shared_with_another_request_goes_on_for_it(
    emulator: Emulator, control: EmulatorControl
) -> None:
    # The entries' single flight: stored responses would have the second request wait for
    # the first one's response instead (tests/cache/test_responses.py pins that one).
    cache = CacheSettings(responses=False)
    async with guarded(emulator, cache=cache, deadline=30) as server:
        await control.add_fault(vendor="kombo", path=PATH, mode="hang", hang_seconds=1.5)
        leaving = asyncio.create_task(ask(server, KOMBO_USERS))
        staying = asyncio.create_task(ask(server, KOMBO_USERS))
        await until(lambda: _hanging(control))
        await until(lambda: _two_joined(server))  # both wait on the one call in flight
        leaving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await leaving
        answer = await staying

    assert answer.errors() == []
    assert len(answer.body["data"]["users"]["edges"]) == 12
    assert [r["status"] for r in vendor_calls(await control.requests(), "kombo", PATH)] == [200]


async def _two_joined(server: GraphQLServer) -> bool:
    return await _misses(server) == 2


async def test_one_warning_per_failed_source_with_request_id_and_no_credential(
    emulator: Emulator, control: EmulatorControl, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    query = """{ users(first: 40) { edges { node {
        id progressions(first: 5) { edges { node { id status } } } } } } }"""
    async with guarded(emulator, breaker_failures=0) as server:
        await control.add_fault(vendor="kombo", path=PATH, status=503, count=None)
        await control.add_fault(
            vendor="skilljar", path="/v1/users/*/published-courses", status=502, count=None
        )
        answer = await ask(server, query, headers={"X-Request-ID": "trace-42.a"})

    assert answer.headers["X-Request-ID"] == "trace-42.a"
    skilljar_errors = [e for e in answer.errors() if e["extensions"]["source"] == "skilljar-demo"]
    assert len(skilljar_errors) > 1  # one per user's progressions, yet one log line
    # the per-source lines (the start-up's own warnings, e.g. no cursor_secret, aside)
    warnings = [
        r for r in caplog.records if r.levelno >= logging.WARNING and r.name == "lms_graph.sources"
    ]
    assert sorted(r.getMessage() for r in warnings) == [
        "source kombo-demo failed: code=SOURCE_UNAVAILABLE vendor_status=503 request_id=trace-42.a",
        "source skilljar-demo failed: code=SOURCE_UNAVAILABLE vendor_status=502 "
        "request_id=trace-42.a",
    ]
    for secret in SECRETS:
        assert secret not in caplog.text
        assert secret not in str(answer.body)
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("sent", ["", "x" * 200, "two words", "a;b"])
async def test_an_insane_request_id_is_replaced(emulator: Emulator, sent: str) -> None:
    async with guarded(emulator) as server:
        answer = await ask(server, "{ sources { name } }", headers={"X-Request-ID": sent})
    assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["X-Request-ID"])


async def test_a_half_sent_body_is_dropped(emulator: Emulator) -> None:
    async with guarded(emulator) as server:  # body_timeout_seconds = 1
        address = urlsplit(server.url)
        assert address.hostname is not None
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        started = time.perf_counter()
        writer.write(
            b"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"query": '
        )
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), timeout=5)  # to EOF: dropped
        elapsed = time.perf_counter() - started
        writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b'"code": "REQUEST_TIMEOUT"' in answer
    assert 1.0 <= elapsed < 1.0 + MARGIN


async def test_a_browser_may_read_the_request_id(emulator: Emulator) -> None:
    server_settings = ServerSettings(cors_allow_origins=["https://app.example"])
    async with run_server(demo_sources(emulator), server=server_settings) as server:
        headers = {"Origin": "https://app.example"}
        answer = await ask(server, "{ sources { name } }", headers=headers)
    assert "X-Request-ID" in answer.headers["Access-Control-Expose-Headers"]
    assert answer.headers["X-Request-ID"]
