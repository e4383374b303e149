"""A SkilljarConnector on mocked HTTP (the ``mock_http`` and ``slept`` fixtures)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from connectors._http import RetryPolicy
from connectors.skilljar import SkilljarConnector
from tests.connectors.skilljar.env import (
    MAX_CONCURRENCY,
    SKILLJAR_API_KEY,
    SKILLJAR_BASE_URL,
    SKILLJAR_DOMAIN,
    SKILLJAR_SOURCE,
)
from tests.connectors.strict_mock import StrictAioresponses


@pytest.fixture
async def skilljar(
    mock_http: StrictAioresponses, slept: list[float]
) -> AsyncIterator[SkilljarConnector]:
    connector = SkilljarConnector(
        name=SKILLJAR_SOURCE,
        base_url=SKILLJAR_BASE_URL,
        api_key=SecretStr(SKILLJAR_API_KEY),
        domain=SKILLJAR_DOMAIN,
        max_concurrency=MAX_CONCURRENCY,
        retry=RetryPolicy(max_attempts=3, base_delay=0, max_delay=0),
    )
    await connector.open()
    try:
        yield connector
    finally:
        await connector.close()
