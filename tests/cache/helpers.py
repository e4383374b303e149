"""The real server with a chosen ``[cache]`` and clock, and a Redis server of our own."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

__all__ = ["FakeClock", "RedisServer", "clear_config", "free_port", "redis_missing_reason"]


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


def clear_config(directory: Path, redis_server: RedisServer) -> Path:
    """A config for ``lms-graph cache clear`` naming the Kombo sources ``acme`` and
    ``globex`` on ``redis_server``. Clearing goes by source name and calls no vendor, so
    their URL, key and integration are placeholders."""
    config = directory / "lms-graph.toml"
    config.write_text(
        f'[cache]\nbackend = "redis"\nurl = "{redis_server.url}"\n'
        + "".join(
            f'[[sources]]\nname = "{name}"\nkind = "kombo"\nbase_url = "http://127.0.0.1:1"\n'
            f'api_key = "k"\nintegration_id = "{name}:1"\n'
            for name in ("acme", "globex")
        )
    )
    return config
