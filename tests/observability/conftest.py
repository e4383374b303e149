"""The real server over the demo emulator; faults through the emulator's control endpoint."""

from __future__ import annotations

import asyncio
import base64
import time

import aiohttp

from connectors.sandbox.server import (
    DEMO_ABSORB_API_KEY,
    DEMO_ABSORB_PASSWORD,
    DEMO_KOMBO_API_KEY,
    DEMO_SKILLJAR_API_KEY,
    DEMO_STACKONE_API_KEY,
)
from graph.clients import key_sha256
from tests.demo_fixtures import control, emulator  # noqa: F401  (fixtures of this folder)
from tests.harness import responds

#: A client's key and the cursor secret the secret-hunting tests configure.
CLIENT_KEY = "client-key-7f3a9c1e-never-in-any-output"
CURSOR_SECRET = "cursor-secret-5b2d8e40-never-in-any-output"


def secrets() -> list[str]:
    """Every credential the tests' config holds, and the forms they travel in."""
    keys = [DEMO_KOMBO_API_KEY, DEMO_ABSORB_API_KEY, DEMO_SKILLJAR_API_KEY, DEMO_STACKONE_API_KEY]
    basic = [base64.b64encode(f"{key}:".encode()).decode() for key in keys]
    return [*keys, *basic, DEMO_ABSORB_PASSWORD, CLIENT_KEY, key_sha256(CLIENT_KEY), CURSOR_SECRET]


def assert_no_secret(text: str) -> None:
    for secret in secrets():
        assert secret not in text, f"a credential ({secret[:6]}…) leaked"


async def wait_until_healthy(base: str, seconds: float = 20.0) -> None:
    """Wait for ``base``/healthz to answer 200 (a server process starting); fail after
    ``seconds``."""
    deadline = time.monotonic() + seconds
    async with aiohttp.ClientSession() as session:
        while not await responds(session, base + "/healthz"):
            assert time.monotonic() < deadline, f"{base} did not become healthy"
            await asyncio.sleep(0.05)
