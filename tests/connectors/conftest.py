from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from connectors import _http
from connectors._http import RetryPolicy
from connectors.kombo.client import KomboConnector
from tests.connectors.kombo.env import (
    KOMBO_API_KEY,
    KOMBO_BASE_URL,
    KOMBO_INTEGRATION_ID,
    KOMBO_SOURCE,
)
from tests.connectors.strict_mock import StrictAioresponses


@pytest.fixture
def mock_http() -> Iterator[StrictAioresponses]:
    """Every aiohttp request of the test goes to registered mocks; see the hook below."""
    with StrictAioresponses() as mock:
        yield mock


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Fail a passing test that left a mock unused or sent a request nothing matched.

    Runs right after the test body, while the ``aioresponses`` patch is still active
    (``stop()`` in fixture teardown clears ``_matches``). A test that already failed
    keeps its own error.
    """
    result = yield
    mock = getattr(item, "funcargs", {}).get("mock_http")
    if isinstance(mock, StrictAioresponses):
        problems = mock.problems()
        if problems:
            pytest.fail("HTTP mocks out of step:\n  " + "\n  ".join(problems), pytrace=False)
    return result


class _AsyncioWithoutWaiting:
    """``asyncio`` as ``connectors._http`` sees it, with ``sleep`` recorded, not waited."""

    def __init__(self, delays: list[float]) -> None:
        self._delays = delays

    async def sleep(self, delay: float, result: Any = None) -> Any:
        self._delays.append(delay)
        return await asyncio.sleep(0, result)

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff delays the transport chose; no test ever waits for one."""
    delays: list[float] = []
    monkeypatch.setattr(_http, "asyncio", _AsyncioWithoutWaiting(delays))
    return delays


@pytest.fixture
async def kombo(mock_http: StrictAioresponses, slept: list[float]) -> AsyncIterator[KomboConnector]:
    connector = KomboConnector(
        name=KOMBO_SOURCE,
        base_url=KOMBO_BASE_URL,
        api_key=SecretStr(KOMBO_API_KEY),
        integration_id=KOMBO_INTEGRATION_ID,
        retry=RetryPolicy(max_attempts=3, base_delay=0, max_delay=0),
    )
    await connector.open()
    try:
        yield connector
    finally:
        await connector.close()
