"""The demo emulator and its HTTP fault control, for the folders whose tests drive faults
as another process would (tests/faults, tests/observability): their conftests import these."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from connectors.sandbox import Emulator, demo_emulator
from connectors.sandbox.control import EmulatorControl

__all__ = ["control", "emulator"]


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with demo_emulator(seed=7, users=12) as running:
        yield running


@pytest.fixture
async def control(emulator: Emulator) -> AsyncIterator[EmulatorControl]:
    async with aiohttp.ClientSession() as session:
        yield EmulatorControl(emulator.base_url, session)
