"""The guard in conftest relies on StrictAioresponses seeing unused and unmatched mocks."""

from __future__ import annotations

import re

import aiohttp

from tests.connectors.strict_mock import StrictAioresponses

BASE = "https://vendor.test/v1"


async def _get(session: aiohttp.ClientSession, path: str) -> int | None:
    try:
        async with session.get(BASE + path) as response:
            await response.read()
            return response.status
    except aiohttp.ClientConnectionError:
        return None


async def test_consumed_mocks_leave_no_problems() -> None:
    with StrictAioresponses() as mock:
        mock.get(BASE + "/a", payload={"ok": True})
        mock.get(BASE + "/b", status=500, repeat=2)
        async with aiohttp.ClientSession() as session:
            assert await _get(session, "/a") == 200
            assert await _get(session, "/b") == 500
            assert await _get(session, "/b") == 500
        assert mock.problems() == []
        assert [call.url.path for call in mock.calls] == ["/v1/a", "/v1/b", "/v1/b"]


async def test_unused_mock_is_reported() -> None:
    with StrictAioresponses() as mock:
        mock.get(BASE + "/a", payload={})
        mock.get(BASE + "/never", payload={})
        async with aiohttp.ClientSession() as session:
            await _get(session, "/a")
        (problem,) = mock.problems()
        assert "unused mock" in problem
        assert "/never" in problem


async def test_partly_consumed_repeat_is_reported() -> None:
    with StrictAioresponses() as mock:
        mock.get(BASE + "/a", status=503, repeat=3)
        async with aiohttp.ClientSession() as session:
            await _get(session, "/a")
            await _get(session, "/a")
        (problem,) = mock.problems()
        assert "1 response(s) never consumed" in problem


async def test_repeat_forever_counts_as_used_once_requested() -> None:
    with StrictAioresponses() as mock:
        mock.get(re.compile(r".*/used\b.*"), payload={}, repeat=True)
        mock.get(re.compile(r".*/idle\b.*"), payload={}, repeat=True)
        async with aiohttp.ClientSession() as session:
            await _get(session, "/used?x=1")
        (problem,) = mock.problems()
        assert "idle" in problem


async def test_unmatched_request_is_reported() -> None:
    with StrictAioresponses() as mock:
        async with aiohttp.ClientSession() as session:
            assert await _get(session, "/nobody-mocked-this") is None
        (problem,) = mock.problems()
        assert problem.startswith("request matched no mock: GET")
        assert "/nobody-mocked-this" in problem


async def test_request_headers_and_params_are_recorded() -> None:
    with StrictAioresponses() as mock:
        mock.get(BASE + "/a?x=1&y=2", payload={})
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                BASE + "/a", params={"y": "2", "x": "1"}, headers={"X-Probe": "yes"}
            ) as response,
        ):
            assert response.status == 200
        (call,) = mock.calls
        assert call.params == {"x": "1", "y": "2"}
        assert call.headers["x-probe"] == "yes"
