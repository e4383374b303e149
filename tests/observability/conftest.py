"""The real server over the demo emulator; faults through the emulator's control endpoint."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import aiohttp
import pytest

from connectors.sandbox import Emulator, demo_emulator
from connectors.sandbox.control import EmulatorControl
from connectors.sandbox.server import (
    DEMO_ABSORB_API_KEY,
    DEMO_ABSORB_PASSWORD,
    DEMO_KOMBO_API_KEY,
    DEMO_SKILLJAR_API_KEY,
    DEMO_STACKONE_API_KEY,
)
from graph.clients import key_sha256

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


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with demo_emulator(seed=7, users=12) as running:
        yield running


@pytest.fixture
async def control(emulator: Emulator) -> AsyncIterator[EmulatorControl]:
    async with aiohttp.ClientSession() as session:
        yield EmulatorControl(emulator.base_url, session)
