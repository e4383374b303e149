"""The real server over the demo emulator, with short deadlines; faults go through the
emulator's HTTP control endpoint, as another process would drive them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from connectors.sandbox import Emulator, demo_emulator
from connectors.sandbox.control import EmulatorControl


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with demo_emulator(seed=7, users=12) as running:
        yield running


@pytest.fixture
async def control(emulator: Emulator) -> AsyncIterator[EmulatorControl]:
    async with aiohttp.ClientSession() as session:
        yield EmulatorControl(emulator.base_url, session)
