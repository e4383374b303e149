"""deploy/haproxy.cfg run by the real HAProxy (Debian's) in front of two ``lms-graph
serve`` processes: requests go to both, an instance that stops is taken out by its
/healthz check and no request fails meanwhile."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from connectors.sandbox import Emulator, demo_emulator
from tests.cache.helpers import RedisServer, free_port
from tests.deploy.instances import (
    APP_KEY,
    DEPLOY,
    deploy_config,
    instance,
    instance_env,
)
from tests.harness import GraphQLServer, responds

HAPROXY_CFG = DEPLOY / "haproxy.cfg"
QUERY = {"query": "{ users(first: 2) { edges { node { id } } } }"}


def haproxy_missing_reason() -> str | None:
    if shutil.which("haproxy") is not None:
        return None
    if os.environ.get("CI"):
        raise RuntimeError("haproxy is not installed, and CI must run the load balancer test")
    return "haproxy not installed (apt-get install haproxy; .ci/run does)"


@pytest.fixture(scope="module")
def haproxy() -> str:
    reason = haproxy_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    found = shutil.which("haproxy")
    assert found is not None
    return found


def test_the_committed_config_is_valid(haproxy: str) -> None:
    done = subprocess.run(  # noqa: S603
        [haproxy, "-c", "-f", str(HAPROXY_CFG)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # The only warnings: the compose service names do not resolve outside compose.
    warnings = [line for line in done.stderr.splitlines() if "[WARNING]" in line]
    assert all("could not resolve address 'lms-graph-" in line for line in warnings), warnings


def _local_config(tmp_path: Path, first: GraphQLServer, second: GraphQLServer, port: int) -> Path:
    """The committed config with the compose addresses swapped for this machine's, and the
    health check every second instead of every 5: requests sent just after an instance
    stops still meet it in HAProxy's list (they must be redispatched), yet the test waits
    only about 2 s for the check to take it out."""
    text = HAPROXY_CFG.read_text(encoding="utf-8")
    swaps = {
        "lms-graph-1:8000": first.url.removeprefix("http://"),
        "lms-graph-2:8000": second.url.removeprefix("http://"),
        "bind :8080": f"bind 127.0.0.1:{port}",
        " inter 5s ": " inter 1s ",
    }
    for old, new in swaps.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "haproxy.cfg"
    path.write_text(text, encoding="utf-8")
    return path


@asynccontextmanager
async def _running(haproxy: str, config: Path) -> AsyncIterator[list[str]]:
    """HAProxy in the foreground; yields its log lines as they come."""
    process = await asyncio.create_subprocess_exec(
        haproxy, "-db", "-f", str(config),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    lines: list[str] = []

    async def read() -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            lines.append(line.decode(errors="replace").rstrip())

    reader = asyncio.create_task(read())
    try:
        yield lines
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), timeout=10)
        await reader


async def _until(condition: Callable[[], bool], what: str, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with demo_emulator(seed=7, users=20) as running:
        yield running


def _served_by(lines: list[str]) -> list[str]:
    """Which instance served each GraphQL request, from HAProxy's request log."""
    return [
        match.group(1)
        for line in lines
        if '"POST /graphql ' in line and (match := re.search(r" lms-graph/(lms-graph-\d) ", line))
    ]


async def test_requests_reach_both_and_a_stopped_instance_is_taken_out(
    haproxy: str, redis_server: RedisServer, emulator: Emulator, tmp_path: Path
) -> None:
    config, env = deploy_config(tmp_path, emulator), instance_env(redis_server, "s3cret")
    port = free_port()
    headers = {"Authorization": f"Bearer {APP_KEY}"}
    async with (
        instance(config, env) as second,
        AsyncExitStack() as first_running,
        aiohttp.ClientSession(headers=headers) as session,
    ):
        first = await first_running.enter_async_context(instance(config, env))
        async with _running(haproxy, _local_config(tmp_path, first, second, port)) as log:
            url = f"http://127.0.0.1:{port}/graphql"

            async def answered() -> int:
                async with session.post(url, json=QUERY) as response:
                    assert response.status == 200, await response.text()
                    body = await response.json()
                    assert "errors" not in body, body
                    return len(body["data"]["users"]["edges"])

            deadline = time.monotonic() + 15
            while not await responds(session, f"http://127.0.0.1:{port}/healthz"):
                assert time.monotonic() < deadline, "\n".join(["HAProxy did not start", *log])
                await asyncio.sleep(0.05)
            assert [await answered() for _ in range(6)] == [2] * 6
            await _until(lambda: len(_served_by(log)) == 6, "6 requests not logged")
            assert sorted(set(_served_by(log))) == ["lms-graph-1", "lms-graph-2"]

            await first_running.aclose()  # lms-graph-1 stops
            # Until its check fails, HAProxy still picks it: those requests are retried
            # on lms-graph-2 (retries, option redispatch), none fails.
            assert [await answered() for _ in range(6)] == [2] * 6
            await _until(
                lambda: "Server lms-graph/lms-graph-1 is DOWN" in "\n".join(log),
                "the health check did not take lms-graph-1 out",
            )
            after_down = len(_served_by(log))
            assert [await answered() for _ in range(4)] == [2] * 4
            await _until(lambda: len(_served_by(log)) == after_down + 4, "not logged")
            assert set(_served_by(log)[after_down:]) == {"lms-graph-2"}
