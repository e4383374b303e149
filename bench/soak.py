"""Soak: N concurrent clients for a fixed time while vendor faults come and go.

Starts the vendor emulator (in this process, on a free loopback port) and the real
server (``lms-graph serve`` in a child process, so its RSS is its own) reading all four
demo sources. ``--clients`` loops then POST one GraphQL query each, back to back, for
``--seconds`` in all, split in five equal phases whose faults are switched on and off
through the emulator's HTTP control endpoint, as another process would:

    clean → kombo hangs → clean → stackone answers 503 (Retry-After: 1) → clean

Every source's breaker cools down in ``--cooldown`` seconds, so each clean phase shows
it closing again. Per phase it prints requests served (by the phase a request was sent
in, or the fault phase it ran into), errors by code, p50/p99 latency and whether
``/readyz`` was back to ``ready`` at its end; the server's RSS after one request, then
at the start (after the first phase under full load), middle and end; and the command
that reproduces the run. It exits non-zero when a fault never took effect (no error of
its source in its phase), when a breaker has not closed by the end of a clean phase,
or when the target is missed: with a hanging vendor, p99 under the deadline plus 1 s.

    python -m bench.soak [--clients 8] [--seconds 50] [--deadline 2] [--cooldown 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from pydantic import SecretStr

from connectors.base import ListQuery
from connectors.breaker import CircuitBreaker
from connectors.errors import VendorUnavailable
from connectors.kombo import KomboConnector
from connectors.sandbox import Emulator, demo_emulator
from connectors.sandbox.control import EmulatorControl
from connectors.sandbox.server import (
    DEMO_ABSORB_API_KEY,
    DEMO_ABSORB_PASSWORD,
    DEMO_ABSORB_USERNAME,
    DEMO_KOMBO_API_KEY,
    DEMO_KOMBO_INTEGRATION_ID,
    DEMO_SKILLJAR_API_KEY,
    DEMO_SKILLJAR_DOMAIN,
    DEMO_STACKONE_ACCOUNT_ID,
    DEMO_STACKONE_API_KEY,
)

QUERY = "{ users(first: 20) { edges { node { id email source } } } }"


@dataclass(frozen=True)
class Phase:
    name: str
    faults: tuple[dict[str, Any], ...] = ()
    #: The source whose errors prove the fault took effect.
    source: str | None = None


PHASES = (
    Phase("clean"),
    Phase(
        "kombo hangs",
        ({"vendor": "kombo", "path": "/lms/users", "mode": "hang", "count": None},),
        "kombo-demo",
    ),
    Phase("clean again"),
    Phase(
        "stackone 503",
        (
            {
                "vendor": "stackone",
                "path": "/unified/lms/users",
                "status": 503,
                "retry_after": "1",
                "count": None,
            },
        ),
        "stackone-demo",
    ),
    Phase("clean at last"),
)


@dataclass
class Tally:
    seconds: list[float] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)
    sources_failed: Counter[str] = field(default_factory=Counter)
    transport_errors: int = 0
    ready_at_end: str = "-"

    def p(self, percent: float) -> float:
        ordered = sorted(self.seconds)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


def _config(emulator: Emulator, deadline: float, cache: str, cooldown: float) -> str:
    base = emulator.base_url
    text = f"""
[server]
request_timeout_seconds = {deadline}

[cache]
backend = "{cache}"

[[sources]]
name = "kombo-demo"
kind = "kombo"
base_url = "{base}/kombo/v1"
api_key = "{DEMO_KOMBO_API_KEY}"
integration_id = "{DEMO_KOMBO_INTEGRATION_ID}"

[[sources]]
name = "absorb-demo"
kind = "absorb"
base_url = "{base}/absorb"
api_key = "{DEMO_ABSORB_API_KEY}"
username = "{DEMO_ABSORB_USERNAME}"
password = "{DEMO_ABSORB_PASSWORD}"

[[sources]]
name = "skilljar-demo"
kind = "skilljar"
base_url = "{base}/skilljar"
api_key = "{DEMO_SKILLJAR_API_KEY}"
domain = "{DEMO_SKILLJAR_DOMAIN}"

[[sources]]
name = "stackone-demo"
kind = "stackone"
base_url = "{base}/stackone"
api_key = "{DEMO_STACKONE_API_KEY}"
account_id = "{DEMO_STACKONE_ACCOUNT_ID}"
"""
    return text.replace(
        "\n[[sources]]\n", f"\n[[sources]]\nbreaker_cooldown_seconds = {cooldown}\n"
    )


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def _wait_ready(
    session: aiohttp.ClientSession, url: str, child: asyncio.subprocess.Process
) -> None:
    for _ in range(300):
        if child.returncode is not None:
            raise SystemExit(f"soak: the server exited with {child.returncode} at start-up")
        try:
            async with session.get(url + "/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    raise SystemExit("soak: the server did not start within 15 s")


async def _client(
    session: aiohttp.ClientSession,
    url: str,
    stop_at: float,
    phase_of: list[int],
    tallies: list[Tally],
) -> None:
    # A client-side bound far past the deadline: a request is never waited on forever.
    timeout = aiohttp.ClientTimeout(total=60)
    while time.monotonic() < stop_at:
        phase = phase_of[0]
        started = time.perf_counter()
        try:
            async with session.post(url + "/graphql", json={"query": QUERY}, timeout=timeout) as r:
                body = await r.json()
        except (aiohttp.ClientError, TimeoutError):
            tallies[phase].transport_errors += 1
            continue
        if PHASES[phase].source is None and PHASES[phase_of[0]].source is not None:
            phase = phase_of[0]  # sent before a fault began, it met the fault: counted there
        tally = tallies[phase]
        tally.seconds.append(time.perf_counter() - started)
        for error in body.get("errors", []):
            extensions = error.get("extensions", {})
            code = extensions.get("code", "?")
            if extensions.get("breaker"):
                code += f" (breaker {extensions['breaker']})"
            tally.codes[code] += 1
            if "source" in extensions:
                tally.sources_failed[extensions["source"]] += 1


async def soak(
    clients: int, seconds: float, deadline: float, users: int, cache: str, cooldown: float
) -> int:
    async with demo_emulator(seed=7, users=users) as emulator:
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as config:
            config.write(_config(emulator, deadline, cache, cooldown))
        log = tempfile.NamedTemporaryFile("w+b", suffix=".log", delete=False)  # noqa: SIM115
        command = ["-m", "graph.cli", "serve", "--config", config.name]
        command += ["--port", str(port), "--log-level", "warning"]
        child = await asyncio.create_subprocess_exec(
            sys.executable, *command, stdout=log, stderr=asyncio.subprocess.STDOUT
        )
        try:
            connector = aiohttp.TCPConnector(limit=clients * 2)
            async with aiohttp.ClientSession(connector=connector) as session:
                await _wait_ready(session, url, child)
                control = EmulatorControl(emulator.base_url, session)
                return await _run(session, control, url, child, clients, seconds, deadline)
        finally:
            child.terminate()
            await asyncio.wait_for(child.wait(), timeout=10)
            log.seek(0)
            warnings = sum(1 for line in log if line.startswith(b"WARNING lms_graph.sources"))
            print(f"server log: {warnings} WARNING lines for failed sources")
            log.close()
            os.unlink(log.name)
            os.unlink(config.name)


async def _run(
    session: aiohttp.ClientSession,
    control: EmulatorControl,
    url: str,
    child: asyncio.subprocess.Process,
    clients: int,
    seconds: float,
    deadline: float,
) -> int:
    async with session.post(url + "/graphql", json={"query": QUERY}) as warm:
        assert warm.status == 200, await warm.text()
    rss = {"idle": _rss_mb(child.pid)}
    tallies = [Tally() for _ in PHASES]
    phase_of = [0]
    each = seconds / len(PHASES)
    stop_at = time.monotonic() + seconds
    workers = [
        asyncio.create_task(_client(session, url, stop_at, phase_of, tallies))
        for _ in range(clients)
    ]
    for index, phase in enumerate(PHASES):
        await control.clear_faults()
        for fault in phase.faults:
            await control.add_fault(**fault)
        phase_of[0] = index
        if index == 1:
            rss["start"] = _rss_mb(child.pid)
        if index == len(PHASES) // 2:
            rss["middle"] = _rss_mb(child.pid)
        await asyncio.sleep(max(0.0, min(each, stop_at - time.monotonic())))
        async with session.get(url + "/readyz") as ready:
            tallies[index].ready_at_end = (await ready.json())["status"]
    await control.clear_faults()
    await asyncio.gather(*workers)
    rss["end"] = _rss_mb(child.pid)
    log = await control.requests()
    code = _report(tallies, rss, log, clients, seconds, deadline)
    return max(code, await _fail_fast(session, control, url))


async def _refusal_seconds() -> list[float]:
    """Times of a connector call refused by an open breaker (no server, no vendor)."""
    breaker = CircuitBreaker(1, 600.0)
    breaker.failed(breaker.admit())
    connector = KomboConnector(
        name="refused",
        base_url="http://127.0.0.1:9",  # never called: the breaker is open
        api_key=SecretStr("unused"),
        integration_id="unused",
        breaker=breaker,
    )
    await connector.open()
    seconds: list[float] = []
    try:
        for _ in range(1000):
            started = time.perf_counter()
            try:
                await connector.list_users(ListQuery(), None, 5)
            except VendorUnavailable as refused:
                if refused.breaker != "OPEN":
                    raise SystemExit("soak: the refusal did not come from the breaker") from None
            else:
                raise SystemExit("soak: an open breaker let a call through")
            seconds.append(time.perf_counter() - started)
    finally:
        await connector.close()
    return sorted(seconds)


KOMBO_ONLY = '{ users(first: 5, source: "kombo-demo") { edges { node { id } } } }'


async def _fail_fast(session: aiohttp.ClientSession, control: EmulatorControl, url: str) -> int:
    """With no other load: how fast a request to a source whose breaker is open is refused."""
    await control.add_fault(vendor="kombo", path="/lms/users", status=503, count=None)
    for _ in range(20):  # 3 tries per request: the breaker opens within two
        async with session.post(url + "/graphql", json={"query": KOMBO_ONLY}) as response:
            await response.read()
        async with session.get(url + "/readyz") as ready:
            if (await ready.json())["sources"]["kombo-demo"]["breaker"] == "OPEN":
                break
    calls_before = len((await control.requests())["requests"])
    seconds: list[float] = []
    refused = 0
    for _ in range(50):
        started = time.perf_counter()
        async with session.post(url + "/graphql", json={"query": KOMBO_ONLY}) as response:
            body = await response.json()
        seconds.append(time.perf_counter() - started)
        refused += any(e["extensions"].get("breaker") == "OPEN" for e in body.get("errors", []))
    calls = len((await control.requests())["requests"]) - calls_before
    await control.clear_faults()
    seconds.sort()
    print(
        f"open breaker, kombo only, no other load: {refused}/50 refused, {calls} vendor calls, "
        f"GraphQL round trip p50 {seconds[25] * 1000:.1f} ms, max {seconds[-1] * 1000:.1f} ms"
    )
    refusal = await _refusal_seconds()
    print(
        "open breaker, one connector call (in this process): "
        f"p50 {refusal[len(refusal) // 2] * 1e6:.0f} µs, "
        f"max {refusal[-1] * 1e6:.0f} µs over {len(refusal)} calls"
    )
    if refused != 50 or calls != 0:
        print("FAILED: the open breaker did not refuse every call", file=sys.stderr)
        return 1
    return 0


def _report(
    tallies: Sequence[Tally],
    rss: dict[str, float],
    log: dict[str, Any],
    clients: int,
    seconds: float,
    deadline: float,
) -> int:
    failures: list[str] = []
    print(f"soak: {clients} clients, {seconds:g} s, deadline {deadline:g} s, query {QUERY!r}")
    print(
        f"{'phase':<14} {'served':>7} {'req/s':>6} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'readyz at end':>13}  errors by code"
    )
    each = seconds / len(PHASES)
    for phase, tally in zip(PHASES, tallies, strict=True):
        codes = ", ".join(f"{code}: {n}" for code, n in tally.codes.most_common()) or "none"
        if tally.transport_errors:
            codes += f"; transport errors: {tally.transport_errors}"
        print(
            f"{phase.name:<14} {len(tally.seconds):>7} {len(tally.seconds) / each:>6.1f} "
            f"{tally.p(50) * 1000:>8.0f} {tally.p(99) * 1000:>8.0f} "
            f"{tally.ready_at_end:>13}  {codes}"
        )
        if phase.source is not None and tally.sources_failed[phase.source] == 0:
            failures.append(f"the fault of phase {phase.name!r} never took effect")
        if phase.source is None and tally.ready_at_end != "ready":
            failures.append(f"a breaker was still open at the end of phase {phase.name!r}")
        if not tally.seconds:
            failures.append(f"no request served in phase {phase.name!r}")
    hang = tallies[1]
    if hang.seconds and hang.p(99) >= deadline + 1:
        failures.append(f"hanging vendor: p99 {hang.p(99):.2f} s >= deadline + 1 s")
    closed = sum(1 for r in log["requests"] if r["status"] == 499)
    print(f"vendor calls: {len(log['requests'])}; hanging calls closed by the server: {closed}")
    print(
        "server RSS MB: "
        + ", ".join(f"{moment} {mb:.1f}" for moment, mb in rss.items())
        + f" (growth start→end {rss['end'] - rss['start']:+.1f} MB)"
    )
    print("command: " + shlex.join([sys.executable, "-m", "bench.soak", *sys.argv[1:]]))
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # 8: one server process on a 2-core machine shared with other jobs; at 16 the CPU
    # queue, not the vendor, sets the tail (both are in the README).
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=50.0)
    parser.add_argument("--deadline", type=float, default=2.0)
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--cache", choices=["none", "memory"], default="none")
    parser.add_argument("--cooldown", type=float, default=2.0, help="breaker cool-down, s")
    args = parser.parse_args()
    if not 5 <= args.seconds <= 600 or not 1 <= args.clients <= 256:
        parser.error("--seconds must be within 5..600 and --clients within 1..256")
    code = asyncio.run(
        soak(args.clients, args.seconds, args.deadline, args.users, args.cache, args.cooldown)
    )
    raise SystemExit(code)


if __name__ == "__main__":
    main()
