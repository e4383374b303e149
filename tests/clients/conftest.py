"""Real clients (Node scripts in this folder, headless Chromium) against the real server.

Needs ``node`` with ``npm ci`` run here, and Debian's ``/usr/bin/chromium``; a test whose
tool is missing skips, except under CI (``.ci/run`` installs them), where it fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from connectors.sandbox import Emulator, KomboTenant
from connectors.settings import SourceSettings
from graph.graphiql import default_assets_dir, missing_assets
from tests.clients.recording import RequestLog
from tests.harness import kombo_source

CLIENTS = Path(__file__).parent
CHROMIUM = Path("/usr/bin/chromium")
#: Keeps Debian's Chromium quiet and self-contained: no sandbox (root in CI), no GPU, and
#: none of the background calls home that a first run makes.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
NODE_TIMEOUT = 120.0


def require(reason: str | None) -> None:
    """Skips on a missing tool; under CI, where every client test must run, fails."""
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI must run the client tests (.ci/run installs it)")
    pytest.skip(reason)


def node_missing_reason() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed (apt-get install nodejs npm)"
    if not (CLIENTS / "node_modules" / "@apollo" / "client").is_dir():
        return "the client packages are not installed (cd tests/clients && npm ci)"
    return None


@pytest.fixture
def node() -> None:
    require(node_missing_reason())


async def run_node(script: str, *args: str) -> dict[str, Any]:
    """Runs ``tests/clients/<script>`` under Node; its one line of JSON on stdout."""
    # Asynchronous on purpose: the server under test runs on this same event loop.
    process = await asyncio.create_subprocess_exec(
        "node", script, *args, cwd=CLIENTS,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), NODE_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"node {script} did not finish within {NODE_TIMEOUT:.0f} s")
    assert process.returncode == 0, f"node {script} failed:\n{stderr.decode()}"
    result: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return result


@pytest.fixture
def chromium() -> None:
    require(None if CHROMIUM.exists() else f"{CHROMIUM} is missing (apt-get install chromium)")


@pytest.fixture
async def browser(chromium: None) -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.fixture(scope="session")
def graphiql_assets() -> Path:
    """GraphiQL's assets, installed where ``lms-graph graphiql install`` puts them.

    ``.ci/run`` installs them first; here a missing install runs that same command.
    """
    directory = default_assets_dir()
    if missing_assets(directory):
        require(None if shutil.which("npm") else "npm is not installed (apt-get install npm)")
        subprocess.run(
            [sys.executable, "-m", "graph.cli", "graphiql", "install"], check=True, timeout=300
        )
    assert not missing_assets(directory, verify=True)
    return directory


@pytest.fixture
def log() -> RequestLog:
    return RequestLog()


@pytest.fixture
def sources(emulator: Emulator, tenant: KomboTenant) -> list[SourceSettings]:
    return [kombo_source("acme", emulator, tenant, max_attempts=1)]
