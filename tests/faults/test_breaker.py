"""The circuit breaker per source, through the real server: it opens after repeated
outages, refuses at once (serving stale cache where there is some), lets one probe
through after its cool-down, and closes when the probe succeeds."""

from __future__ import annotations

import asyncio
from typing import Any

from connectors.sandbox import Emulator
from connectors.sandbox.control import EmulatorControl
from graph.config import CacheSettings
from tests.faults.helpers import USERS_PATH, Answer, ask, guarded, until, vendor_calls
from tests.harness import GraphQLServer

KOMBO = "kombo-demo"
PATH = USERS_PATH["kombo"]
# A cool-down long enough that a loaded machine does not reach it between two asserts.
OPEN_FAST = {"breaker_failures": 3, "breaker_cooldown_seconds": 1.0, "max_attempts": 1}


async def readyz(server: GraphQLServer) -> tuple[int, dict[str, Any]]:
    async with server.session.get(server.url + "/readyz") as response:
        return response.status, await response.json()


async def breaker_of(server: GraphQLServer, source: str = KOMBO) -> str:
    state: str = (await readyz(server))[1]["sources"][source]["breaker"]
    return state


def kombo_error(answer: Answer) -> dict[str, Any]:
    (error,) = [e for e in answer.errors() if e["extensions"].get("source") == KOMBO]
    extensions: dict[str, Any] = error["extensions"]
    return extensions


async def kombo_calls(control: EmulatorControl) -> int:
    return len(vendor_calls(await control.requests(), "kombo", PATH))


async def open_breaker(server: GraphQLServer, control: EmulatorControl) -> None:
    await control.add_fault(vendor="kombo", path=PATH, status=503, count=None)
    for _ in range(3):
        assert "breaker" not in kombo_error(await ask(server))
    assert await breaker_of(server) == "OPEN"


async def test_opens_fails_fast_probes_and_closes(
    emulator: Emulator, control: EmulatorControl
) -> None:
    async with guarded(emulator, **OPEN_FAST) as server:
        await open_breaker(server, control)
        assert await kombo_calls(control) == 3

        refused = await ask(server)
        assert kombo_error(refused) | {"code": "SOURCE_UNAVAILABLE", "breaker": "OPEN"} == (
            kombo_error(refused)
        )
        assert refused.sources() == {"absorb-demo", "skilljar-demo", "stackone-demo"}
        assert await kombo_calls(control) == 3  # refused without a call
        status, ready = await readyz(server)
        assert (status, ready["status"]) == (200, "degraded")
        health = await ask(server, "{ sources { name health { ok code breaker } } }")
        kombo = next(s for s in health.body["data"]["sources"] if s["name"] == KOMBO)
        assert kombo["health"] == {"ok": False, "code": "SOURCE_UNAVAILABLE", "breaker": "OPEN"}

        await control.clear_faults()
        await until(lambda: _is(server, "HALF_OPEN"))
        probed = await ask(server)
        assert probed.errors() == []
        assert KOMBO in probed.sources()
        assert await kombo_calls(control) == 4  # one probe
        assert await breaker_of(server) == "CLOSED"
        assert (await readyz(server))[1]["status"] == "ready"


async def _is(server: GraphQLServer, state: str) -> bool:
    return await breaker_of(server) == state


async def test_a_failing_probe_opens_it_again(emulator: Emulator, control: EmulatorControl) -> None:
    async with guarded(emulator, **OPEN_FAST) as server:
        await open_breaker(server, control)
        await until(lambda: _is(server, "HALF_OPEN"))
        assert "breaker" not in kombo_error(await ask(server))  # the probe itself failed
        assert await kombo_calls(control) == 4
        assert await breaker_of(server) == "OPEN"


async def test_one_probe_at_a_time(emulator: Emulator, control: EmulatorControl) -> None:
    async with guarded(emulator, **OPEN_FAST) as server:
        await open_breaker(server, control)
        await control.clear_faults()
        await until(lambda: _is(server, "HALF_OPEN"))
        # A slow probe: the requests arriving meanwhile are refused.
        await control.add_fault(vendor="kombo", path=PATH, mode="hang", hang_seconds=1.0)
        answers = await asyncio.gather(*(ask(server) for _ in range(3)))
        assert await kombo_calls(control) == 4
        served = [a for a in answers if KOMBO in a.sources()]
        refused = [a for a in answers if KOMBO not in a.sources()]
        assert len(served) == 1
        assert [kombo_error(a)["breaker"] for a in refused] == ["HALF_OPEN", "HALF_OPEN"]
        assert await breaker_of(server) == "CLOSED"


async def test_client_errors_do_not_open_it(emulator: Emulator, control: EmulatorControl) -> None:
    async with guarded(emulator, **OPEN_FAST) as server:
        await control.add_fault(vendor="kombo", path=PATH, status=400, count=None)
        for _ in range(4):
            assert kombo_error(await ask(server))["code"] == "SOURCE_REJECTED_REQUEST"
        assert await kombo_calls(control) == 4
        assert await breaker_of(server) == "CLOSED"


async def test_stale_cache_is_served_while_open(
    emulator: Emulator, control: EmulatorControl
) -> None:
    now = [1_000_000.0]
    cache = CacheSettings(ttl_seconds=60, stale_if_error_seconds=600)
    async with guarded(emulator, cache=cache, clock=lambda: now[0], **OPEN_FAST) as server:
        fresh = await ask(server)
        assert KOMBO in fresh.sources()
        now[0] += 120  # every entry expired, still inside the stale window
        await open_breaker(server, control)
        served = await ask(server)
        assert await kombo_calls(control) == 4  # the warm-up and three failures only
        assert served.body["data"] == fresh.body["data"]
        stale = kombo_error(served)
        assert (stale["code"], stale["cause"]) == ("SOURCE_STALE_DATA", "SOURCE_UNAVAILABLE")


async def test_readyz_is_503_only_when_no_source_can_serve(
    emulator: Emulator, control: EmulatorControl
) -> None:
    async with guarded(emulator, breaker_failures=1, max_attempts=1) as server:
        await control.add_fault(vendor="kombo", path=PATH, status=503, count=None)
        await ask(server)
        assert (await readyz(server))[0] == 200
        for vendor in ("absorb", "skilljar", "stackone"):
            await control.add_fault(vendor=vendor, path=USERS_PATH[vendor], status=503, count=None)
        await ask(server)
        status, body = await readyz(server)
        assert (status, body["status"]) == (503, "unavailable")
        assert {s["breaker"] for s in body["sources"].values()} == {"OPEN"}
        async with server.session.get(server.url + "/healthz") as response:
            assert response.status == 200
