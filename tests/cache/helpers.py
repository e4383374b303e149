"""The real server with a chosen ``[cache]`` and clock, and a Redis server of our own."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import redis
import uvicorn

from connectors.settings import SourceSettings
from graph.app import create_app
from graph.config import AppConfig, CacheSettings
from tests.harness import GraphQLServer

__all__ = ["FakeClock", "RedisServer", "free_port", "redis_missing_reason", "serve"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class FakeClock:
    """Seconds since the epoch that only move when told to."""

    now: float = 1_750_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def redis_missing_reason() -> str | None:
    """Why Redis tests cannot run here, or None; raises under CI, where they must run."""
    if shutil.which("redis-server") is not None:
        return None
    if os.environ.get("CI"):
        raise RuntimeError("redis-server is not installed, and CI must run the Redis tests")
    return "redis-server not installed (apt-get install redis-server; .ci/run does)"


@dataclass
class RedisServer:
    """A throw-away ``redis-server`` on a free loopback port, without persistence."""

    password: str | None = None
    port: int = field(default_factory=free_port)
    _process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1", port=self.port, password=self.password, socket_timeout=2
        )

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no"]
        if self.password:
            command += ["--requirepass", self.password]
        self._process = subprocess.Popen(  # noqa: S603 - fixed arguments
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        client = self.client()
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or self._process.poll() is not None:
                    self.stop()
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.02)
            finally:
                client.close()

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            process.terminate()
            process.wait(timeout=10)


@asynccontextmanager
async def serve(
    sources: Sequence[SourceSettings],
    cache: CacheSettings | None = None,
    clock: Any = time.time,
) -> AsyncIterator[GraphQLServer]:
    """The real app under uvicorn on a free loopback port, with ``cache`` and ``clock``."""
    config = AppConfig(sources=list(sources), cache=cache or CacheSettings())
    app = create_app(config, clock=clock)
    # IPPROTO_TCP, not the default 0: asyncio only sets TCP_NODELAY on sockets that say
    # they are TCP, and without it every response waits ~40 ms for a delayed ACK.
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
