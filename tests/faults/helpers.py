"""Helpers of the fault suite: the guarded server, timed questions, bounded waits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from connectors.sandbox import Emulator
from graph.config import CacheSettings, ServerSettings
from tests.harness import GraphQLServer, demo_sources, run_server

#: The request deadline of these tests, and what an answer may take beyond it.
DEADLINE = 1.5
MARGIN = 0.5

USERS = "{ users(first: 40) { edges { node { id source } } } }"
USERS_PATH = {
    "kombo": "/lms/users",
    "absorb": "/users",
    "skilljar": "/v1/users",
    "stackone": "/unified/lms/users",
}
NO_CACHE = CacheSettings(backend="none")


@dataclass
class Answer:
    body: dict[str, Any]
    seconds: float
    headers: dict[str, str]

    def sources(self) -> set[str]:
        edges = ((self.body.get("data") or {}).get("users") or {}).get("edges") or []
        return {edge["node"]["source"] for edge in edges}

    def errors(self) -> list[dict[str, Any]]:
        errors: list[dict[str, Any]] = self.body.get("errors", [])
        return errors


async def ask(
    server: GraphQLServer, query: str = USERS, headers: dict[str, str] | None = None
) -> Answer:
    started = time.perf_counter()
    async with server.session.post(
        server.url + "/graphql", json={"query": query}, headers=headers or {}
    ) as response:
        body = await response.json()
        assert response.status == 200, body
        return Answer(body, time.perf_counter() - started, dict(response.headers))


async def until(condition: Callable[[], Awaitable[bool]], seconds: float = 5.0) -> None:
    """Wait for ``condition`` to hold, polling; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


def vendor_calls(log: dict[str, Any], vendor: str, path: str) -> list[dict[str, Any]]:
    return [r for r in log["requests"] if r["vendor"] == vendor and r["path"] == path]


@asynccontextmanager
async def guarded(
    emulator: Emulator,
    *,
    cache: CacheSettings = NO_CACHE,
    deadline: float = DEADLINE,
    clock: Callable[[], float] = time.time,
    **source_settings: Any,
) -> AsyncIterator[GraphQLServer]:
    """The server over all four demo sources, 3 tries of at most 5 s per vendor call."""
    settings = {"max_attempts": 3, "timeout_seconds": 5.0, **source_settings}
    server = ServerSettings(request_timeout_seconds=deadline, body_timeout_seconds=1.0)
    async with run_server(
        demo_sources(emulator, **settings), cache=cache, clock=clock, server=server
    ) as running:
        yield running
