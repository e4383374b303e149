"""``[server] log_format = "json"``: ``lms-graph serve`` as a process, its stderr read line
by line. Every line is a JSON object (uvicorn's included), each GraphQL request has one
access line with its request ID, client, operation, duration and per-source outcomes, and
no line holds a credential."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from connectors.sandbox.control import EmulatorControl
from graph.clients import key_sha256
from graph.config import DEMO_CONFIG
from tests.cache.helpers import free_port
from tests.observability.conftest import (
    CLIENT_KEY,
    CURSOR_SECRET,
    assert_no_secret,
    wait_until_healthy,
)

QUERY = "query Everyone { users(first: 4) { edges { node { id } } } }"


def _config(emulator_port: int) -> str:
    server = (
        "[server]\n"
        'log_format = "json"\n'
        f'cursor_secret = "{CURSOR_SECRET}"\n'
        "request_timeout_seconds = 3\n"
    )
    client = f'[[clients]]\nname = "reporting"\nkey_sha256 = "{key_sha256(CLIENT_KEY)}"\n\n'
    text = DEMO_CONFIG.replace("8700", str(emulator_port)).replace("[server]\n", server)
    text = text.replace('backend = "memory"', 'backend = "none"')  # every query calls vendors
    return text.replace("[[sources]]", client + "[[sources]]", 1)


@asynccontextmanager
async def json_server(config: Path, port: int) -> AsyncIterator[list[str]]:
    """``lms-graph serve`` until the block ends (then SIGINT); yields its stderr lines,
    complete once the block has ended."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "graph.cli", "serve", "--config", str(config), "--port", str(port),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    lines: list[str] = []
    try:
        await wait_until_healthy(f"http://127.0.0.1:{port}")
        yield lines
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=10)
        lines.extend(stderr.decode().splitlines())
    assert process.returncode == 0, stderr.decode()


async def test_json_lines_carry_request_client_operation_and_sources(tmp_path: Path) -> None:
    emulator_port, port = free_port(), free_port()
    config = tmp_path / "json.toml"
    config.write_text(_config(emulator_port), encoding="utf-8")
    url = f"http://127.0.0.1:{port}/graphql"
    key = {"Authorization": f"Bearer {CLIENT_KEY}"}
    async with json_server(config, port) as lines, aiohttp.ClientSession() as session:
        control = EmulatorControl(f"http://127.0.0.1:{emulator_port}", session)
        async with session.post(
            url, json={"query": QUERY}, headers={**key, "X-Request-ID": "obs-ok-1"}
        ) as response:
            assert "errors" not in await response.json()
        await control.add_fault(
            vendor="kombo",
            path="/lms/users",
            mode="status",
            status=503,
            retry_after="0",
            count=None,
        )
        async with session.post(
            url, json={"query": QUERY}, headers={**key, "X-Request-ID": "obs-fault-1"}
        ) as response:
            assert (await response.json())["errors"][0]["extensions"]["source"] == "kombo-demo"
        async with session.post(
            url, json={"query": QUERY}, headers={"X-Request-ID": "obs-nokey-1"}
        ) as response:
            assert response.status == 401

    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"timestamp", "level", "logger", "message"} <= set(r) for r in records)
    assert any(r["logger"] == "uvicorn.error" for r in records)  # uvicorn's lines too
    access = {r["request_id"]: r for r in records if r["logger"] == "lms_graph.access"}

    ok = access["obs-ok-1"]
    assert ok["status"] == 200
    assert (ok["client"], ok["operation"], ok["outcome"]) == ("reporting", "Everyone", "ok")
    assert isinstance(ok["duration_ms"], float)
    assert ok["duration_ms"] > 0
    assert set(ok["sources"]) == {"kombo-demo", "absorb-demo", "skilljar-demo", "stackone-demo"}
    assert ok["sources"]["kombo-demo"] == {"outcome": "ok", "calls": 1}

    fault = access["obs-fault-1"]
    assert fault["outcome"] == "partial"
    assert fault["sources"]["kombo-demo"] == {
        "outcome": "SOURCE_UNAVAILABLE",
        "calls": 3,
        "vendor_status": 503,
    }
    assert fault["sources"]["absorb-demo"]["outcome"] == "ok"
    (warning,) = [r for r in records if r["logger"] == "lms_graph.sources"]
    assert _pick(warning, "level", "request_id", "source", "code", "vendor_status") == {
        "level": "WARNING",
        "request_id": "obs-fault-1",
        "source": "kombo-demo",
        "code": "SOURCE_UNAVAILABLE",
        "vendor_status": 503,
    }

    refused = access["obs-nokey-1"]
    assert _pick(refused, "status", "client", "outcome", "code") == {
        "status": 401,
        "client": None,
        "outcome": "refused",
        "code": "UNAUTHENTICATED",
    }
    assert_no_secret("\n".join(lines))


def _pick(record: dict[str, Any], *names: str) -> dict[str, Any]:
    return {name: record.get(name) for name in names}
