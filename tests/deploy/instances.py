"""The committed deploy config (``deploy/config.toml``, mounted by compose.yaml) run by
several ``lms-graph serve`` processes on this machine, as compose.yaml runs it."""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

from connectors.sandbox import Emulator
from graph.clients import key_sha256
from tests.cache.helpers import RedisServer, free_port
from tests.harness import GraphQLServer, cli_server

__all__ = [
    "APP_KEY",
    "DEPLOY",
    "ROOT",
    "deploy_config",
    "instance",
    "instance_env",
]

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
#: The key of the config's ``app`` client, whose digest compose.yaml passes in.
APP_KEY = "app-key-of-the-deploy-tests-3c9e"
#: Where the committed config's sources read the emulator each container runs.
_EMULATOR_URL = "http://127.0.0.1:8700/"
_EMULATOR_TABLE = re.compile(r"^\[emulator\]\n(?:[^\[\n].*\n|\n)*", re.MULTILINE)


def deploy_config(tmp_path: Path, emulator: Emulator) -> Path:
    """``deploy/config.toml`` with its sources on ``emulator``, shared by every instance
    here (in compose each container runs its own, with the same data)."""
    text = (DEPLOY / "config.toml").read_text(encoding="utf-8")
    assert _EMULATOR_TABLE.search(text), "deploy/config.toml has no [emulator] table"
    assert text.count(_EMULATOR_URL) == 4, "the four sources no longer read the emulator"
    shared = _EMULATOR_TABLE.sub("", text).replace(_EMULATOR_URL, emulator.base_url + "/")
    path = tmp_path / "config.toml"
    path.write_text(shared, encoding="utf-8")
    return path


def instance_env(redis: RedisServer, cursor_secret: str) -> dict[str, str]:
    """The environment compose.yaml gives each instance (from .env)."""
    return {
        **os.environ,
        "LMS_GRAPH_REDIS_URL": redis.url,
        "LMS_GRAPH_CURSOR_SECRET": cursor_secret,
        "LMS_GRAPH_APP_KEY_SHA256": key_sha256(APP_KEY),
    }


@asynccontextmanager
async def instance(config: Path, env: Mapping[str, str]) -> AsyncIterator[GraphQLServer]:
    """One ``lms-graph serve`` process on ``config``, called with the app's key."""
    args = ("--config", str(config), "--port", str(free_port()))
    headers = {"Authorization": f"Bearer {APP_KEY}"}
    async with cli_server(*args, env=env, headers=headers) as server:
        yield server
