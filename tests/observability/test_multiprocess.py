"""Several server processes on one ``PROMETHEUS_MULTIPROC_DIR``: any scrape adds them up.

Two ``lms-graph serve`` processes stand in for the workers of one server: they share the
directory and the ``metrics_port``, which the first binds and the second leaves to it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from graph.config import DEMO_CONFIG
from tests.cache.helpers import free_port
from tests.observability.conftest import wait_until_healthy


@asynccontextmanager
async def _serve(config: Path, port: int, env: dict[str, str]) -> AsyncIterator[str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "graph.cli", "serve", "--config", str(config), "--port", str(port),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_until_healthy(base)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=10)
    assert process.returncode == 0, stderr.decode()


def _requests(text: str) -> float:
    for family in text_string_to_metric_families(text):
        if family.name == "lms_graph_graphql_requests":
            return sum(s.value for s in family.samples if s.name.endswith("_total"))
    return 0.0


async def test_one_scrape_counts_every_process(tmp_path: Path) -> None:
    metrics_port = free_port()
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(multiproc)}
    configs = []
    for name in ("a", "b"):
        config = tmp_path / f"{name}.toml"
        text = DEMO_CONFIG.replace("8700", str(free_port()))
        text = text.replace("[server]\n", f"[server]\nmetrics_port = {metrics_port}\n")
        config.write_text(text, encoding="utf-8")
        configs.append(config)
    async with AsyncExitStack() as stack, aiohttp.ClientSession() as session:
        bases = [await stack.enter_async_context(_serve(c, free_port(), env)) for c in configs]
        for base in bases:
            async with session.post(
                base + "/graphql", json={"query": "{ sources { name } }"}
            ) as response:
                # The whole answer: a request is counted before its last byte is sent.
                assert "errors" not in await response.json()
        async with session.get(f"http://127.0.0.1:{metrics_port}/metrics") as response:
            text = await response.text()
    assert _requests(text) == 2
