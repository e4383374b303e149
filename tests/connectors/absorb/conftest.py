"""An AbsorbConnector on mocked HTTP, and helpers to mock its login."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from connectors._http import RetryPolicy
from connectors.absorb import AbsorbConnector
from tests.connectors.absorb.env import (
    ABSORB_API_KEY,
    ABSORB_BASE_URL,
    ABSORB_PASSWORD,
    ABSORB_SOURCE,
    ABSORB_USERNAME,
)
from tests.connectors.strict_mock import StrictAioresponses


def make_connector(**overrides: object) -> AbsorbConnector:
    settings: dict[str, object] = {
        "name": ABSORB_SOURCE,
        "base_url": ABSORB_BASE_URL,
        "api_key": SecretStr(ABSORB_API_KEY),
        "username": ABSORB_USERNAME,
        "password": SecretStr(ABSORB_PASSWORD),
        "retry": RetryPolicy(max_attempts=3, base_delay=0, max_delay=0),
        **overrides,
    }
    return AbsorbConnector(**settings)  # type: ignore[arg-type]


@pytest.fixture
async def absorb(
    mock_http: StrictAioresponses, slept: list[float]
) -> AsyncIterator[AbsorbConnector]:
    connector = make_connector()
    await connector.open()
    try:
        yield connector
    finally:
        await connector.close()
