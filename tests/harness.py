"""Runs the real server (uvicorn + the ASGI app) over loopback against the vendor emulator."""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import aiohttp
import uvicorn
from pydantic import SecretStr
from starlette.types import ASGIApp

from connectors.sandbox import Emulator, KomboTenant
from connectors.sandbox.server import (
    DEMO_ABSORB_API_KEY,
    DEMO_ABSORB_PASSWORD,
    DEMO_ABSORB_USERNAME,
    DEMO_SKILLJAR_API_KEY,
    DEMO_SKILLJAR_DOMAIN,
    DEMO_STACKONE_ACCOUNT_ID,
    DEMO_STACKONE_API_KEY,
)
from connectors.settings import (
    AbsorbSettings,
    KomboSettings,
    SkilljarSettings,
    SourceSettings,
    StackOneSettings,
)
from graph.app import create_app
from graph.config import AppConfig, CacheSettings, LimitsSettings
from graph.schema import build_schema
from resolvers.context import Context
from resolvers.sources import SourceRegistry

__all__ = [
    "CACHES",
    "CANONICAL_QUERY",
    "DEMO_SOURCES",
    "NO_CACHE",
    "GraphQLServer",
    "cli_server",
    "demo_sources",
    "execute_in_process",
    "kombo_source",
    "responds",
    "run_server",
]

CANONICAL_QUERY = """
query Canonical($first: Int!, $after: String) {
  users(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      cursor
      node {
        id firstName lastName email
        progressions(first: 20) {
          edges { node {
            id status enrolledAt completedAt
            revision { id title status course { id title skills { id name } } }
          } }
        }
      }
    }
  }
}
"""


#: The test server's default: no cross-request cache.
NO_CACHE = CacheSettings(backend="none")
#: The two ways call-count tests run: cache off, and the memory cache (``ids=`` for pytest).
CACHES = {"off": NO_CACHE, "memory": CacheSettings(backend="memory")}


def kombo_source(name: str, emulator: Emulator, tenant: KomboTenant, **extra: Any) -> KomboSettings:
    return KomboSettings(
        kind="kombo",
        name=name,
        base_url=emulator.kombo_base_url,
        api_key=SecretStr(tenant.api_key),
        integration_id=tenant.integration_id,
        **extra,
    )


#: Source name per vendor in :func:`demo_sources`.
DEMO_SOURCES = {
    "kombo": "kombo-demo",
    "absorb": "absorb-demo",
    "skilljar": "skilljar-demo",
    "stackone": "stackone-demo",
}


def demo_sources(emulator: Emulator, **extra: Any) -> list[SourceSettings]:
    """Settings of all four sources of a :func:`~connectors.sandbox.demo_emulator`."""
    (kombo,) = emulator.kombo_tenants
    return [
        kombo_source(DEMO_SOURCES["kombo"], emulator, kombo, **extra),
        AbsorbSettings(
            kind="absorb",
            name=DEMO_SOURCES["absorb"],
            base_url=emulator.vendor_base_url("absorb"),
            api_key=SecretStr(DEMO_ABSORB_API_KEY),
            username=DEMO_ABSORB_USERNAME,
            password=SecretStr(DEMO_ABSORB_PASSWORD),
            **extra,
        ),
        SkilljarSettings(
            kind="skilljar",
            name=DEMO_SOURCES["skilljar"],
            base_url=emulator.vendor_base_url("skilljar"),
            api_key=SecretStr(DEMO_SKILLJAR_API_KEY),
            domain=DEMO_SKILLJAR_DOMAIN,
            **extra,
        ),
        StackOneSettings(
            kind="stackone",
            name=DEMO_SOURCES["stackone"],
            base_url=emulator.vendor_base_url("stackone"),
            api_key=SecretStr(DEMO_STACKONE_API_KEY),
            account_id=DEMO_STACKONE_ACCOUNT_ID,
            **extra,
        ),
    ]


@dataclass
class GraphQLServer:
    url: str
    session: aiohttp.ClientSession
    headers: dict[str, str] = field(default_factory=dict)

    def with_key(self, key: str) -> GraphQLServer:
        """The same server, every request sending ``Authorization: Bearer <key>``."""
        return replace(self, headers={**self.headers, "Authorization": f"Bearer {key}"})

    async def send(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any], Any]:
        """POST a query: the HTTP status, the JSON body and the response headers."""
        payload = {"query": query, "variables": variables or {}}
        async with self.session.post(
            self.url + "/graphql", json=payload, headers={**self.headers, **(headers or {})}
        ) as response:
            body: dict[str, Any] = await response.json()
            return response.status, body, response.headers

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST a query; asserts HTTP 200 and returns the JSON body (data and errors)."""
        status, body, _ = await self.send(query, variables)
        assert status == 200, body
        return body

    async def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST a query that must succeed without errors."""
        body = await self.post(query, variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data


@asynccontextmanager
async def run_server(
    sources: Sequence[SourceSettings],
    cache: CacheSettings | None = None,
    clock: Callable[[], float] = time.time,
    *,
    wrap: Callable[[ASGIApp], ASGIApp] | None = None,
    span_exporter: Any = None,
    **sections: Any,
) -> AsyncIterator[GraphQLServer]:
    """The real app under uvicorn on a free loopback port, for the duration of the block.

    Args:
        sources: The configured sources.
        cache: ``[cache]``; off (``backend = "none"``) when None, so a call count or a
            look-up test cannot be rescued by entries an earlier query left: a test
            of the cache, or one that pins counts both ways, passes its own.
        clock: The cache's clock, so tests can age entries without sleeping.
        wrap: An ASGI middleware around the whole app (tests record what the server got).
        span_exporter: With ``tracing=TracingSettings()``, where spans go (an in-memory
            exporter) instead of OTLP.
        sections: Other config tables by name (``documents=DocumentsSettings(...)``,
            ``limits=LimitsSettings(...)``, ``clients=[ClientSettings(...)]`` …).
    """
    config = AppConfig(sources=list(sources), cache=cache or NO_CACHE, **sections)
    app: ASGIApp = create_app(config, clock=clock, span_exporter=span_exporter)
    if wrap is not None:
        app = wrap(app)
    # IPPROTO_TCP explicitly: with protocol 0 asyncio leaves Nagle on for accepted
    # connections, and every request then waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False)
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        assert server.started, "server did not start"
        async with aiohttp.ClientSession() as session:
            yield GraphQLServer(f"http://127.0.0.1:{port}", session)
    finally:
        server.should_exit = True
        await task
        sock.close()


#: ``lms-graph`` as the checkout's Python runs it (tests of a built install pass their own).
LMS_GRAPH = (sys.executable, "-m", "graph.cli")


@asynccontextmanager
async def cli_server(
    *args: str,
    command: Sequence[str] = LMS_GRAPH,
    env: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    stop: signal.Signals = signal.SIGINT,
    exit_codes: Collection[int] = (0,),
    start_seconds: float = 30.0,
) -> AsyncIterator[GraphQLServer]:
    """``lms-graph serve ARGS`` as a process of its own, once its /healthz answers.

    Args:
        args: After ``serve``; must hold ``--port``.
        command: The ``lms-graph`` to run.
        env: The process's whole environment (default: this one's).
        headers: Sent with every request of the yielded server's session (a client key).
        stop: The signal that ends it (Ctrl-C's SIGINT; ``docker stop`` sends SIGTERM).
        exit_codes: What it may exit with then: 0 after Ctrl-C; after SIGTERM uvicorn
            shuts down, then raises the signal again, which ends the process (-15) unless
            it is a container's PID 1 (the kernel ignores it there: 0).
        start_seconds: How long it may take to answer /healthz.
    """
    process = await asyncio.create_subprocess_exec(
        *command, "serve", *args, "--log-level", "warning",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env=None if env is None else dict(env),
    )  # fmt: skip
    base = f"http://127.0.0.1:{args[args.index('--port') + 1]}"
    try:
        async with aiohttp.ClientSession(headers=headers) as session:
            deadline = time.monotonic() + start_seconds
            while not await responds(session, base + "/healthz"):
                if process.returncode is not None:
                    assert process.stderr is not None
                    stderr = (await process.stderr.read()).decode()
                    raise AssertionError(f"lms-graph serve exited at start: {stderr}")
                assert time.monotonic() < deadline, f"no /healthz within {start_seconds} s"
                await asyncio.sleep(0.05)
            yield GraphQLServer(base, session)
    finally:
        if process.returncode is None:
            process.send_signal(stop)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=10)
    assert process.returncode in exit_codes, stderr.decode()


async def responds(session: aiohttp.ClientSession, url: str) -> bool:
    """Whether ``url`` answers GET with 200 (False while nothing listens there)."""
    try:
        async with session.get(url) as response:
            return response.status == 200
    except aiohttp.ClientConnectionError:
        return False


async def execute_in_process(
    query: str, registry: SourceRegistry, max_errors: int = 100
) -> tuple[Any, list[dict[str, Any]]]:
    """``query`` run on the schema itself (no HTTP) over ``registry``, which the caller
    opens: the data and the formatted errors."""
    schema = build_schema(LimitsSettings(max_errors=max_errors, max_root_fields=50))
    result = await schema.execute(query, context_value=Context(sources=registry))
    return result.data, [dict(error.formatted) for error in result.errors or []]
