"""A StackOne connector on mocked HTTP, with a backoff that never waits."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr

from connectors._http import RetryPolicy
from connectors.stackone import StackOneConnector
from tests.connectors.stackone.env import (
    STACKONE_ACCOUNT_ID,
    STACKONE_API_KEY,
    STACKONE_BASE_URL,
    STACKONE_SOURCE,
)
from tests.connectors.strict_mock import StrictAioresponses

#: The bound the `stackone` fixture's connector keeps its per-ID calls under.
MAX_CONCURRENCY = 3


@pytest.fixture
async def stackone(
    mock_http: StrictAioresponses, slept: list[float]
) -> AsyncIterator[StackOneConnector]:
    connector = StackOneConnector(
        name=STACKONE_SOURCE,
        base_url=STACKONE_BASE_URL + "/",
        api_key=SecretStr(STACKONE_API_KEY),
        account_id=STACKONE_ACCOUNT_ID,
        max_concurrency=MAX_CONCURRENCY,
        retry=RetryPolicy(max_attempts=3, base_delay=0, max_delay=0),
    )
    await connector.open()
    try:
        yield connector
    finally:
        await connector.close()
