"""``lms-graph serve`` as the real process tree (``--workers N``), for tests and benchmarks.

The server runs the embedded demo (its ``[emulator]`` in the parent process) from a
config file written here; vendor calls are counted, and Absorb tokens expired, through
the emulator's control endpoint, as another process would. A worker is told apart by
the ``instance`` of ``/readyz``; a keep-alive connection stays with the worker that
accepted it, so :meth:`ServeProcess.pinned` gives one client session per worker.
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from graph.config import DEMO_CONFIG
from tests.cache.helpers import free_port

__all__ = ["Pinned", "ServeProcess", "demo_config_text", "serve_process"]

#: How long a server may take to bring up all its workers (they start one by one).
START_SECONDS = 60.0


def demo_config_text(
    emulator_port: int, cache: str, *, users: int = 120, latency_ms: float = 0, extra: str = ""
) -> str:
    """The embedded demo's config with its emulator on ``emulator_port``, ``users`` and
    ``latency_ms`` set, its ``[cache]`` table replaced by ``cache`` (TOML lines, without
    the header), and ``extra`` TOML appended."""
    text = DEMO_CONFIG.replace("8700", str(emulator_port))
    text = re.sub(r"(?m)^users = \d+$", f"users = {users}", text)
    text = re.sub(r"(?m)^latency_ms = [\d.]+$", f"latency_ms = {latency_ms}", text)
    text, replaced = re.subn(r"(?m)^\[cache\]\n(?:(?!\[).*\n)*", f"[cache]\n{cache}\n\n", text)
    if replaced != 1:
        raise RuntimeError("the demo config has no [cache] table to replace")
    return text + extra


@dataclass
class Pinned:
    """A client session whose one keep-alive connection is served by one worker."""

    instance: str
    session: aiohttp.ClientSession
    base: str

    async def post(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        return (await self.send(query, variables))[0]

    async def send(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], Mapping[str, str]]:
        """POST a query answered with 200: its JSON body and the response headers."""
        payload = {"query": query, "variables": variables or {}}
        async with self.session.post(self.base + "/graphql", json=payload) as response:
            assert response.status == 200, await response.text()
            body: dict[str, Any] = await response.json()
            return body, response.headers

    async def instance_now(self) -> str:
        """The instance answering on this connection now (it must not have changed)."""
        async with self.session.get(self.base + "/readyz") as response:
            instance: str = (await response.json())["instance"]
            return instance


@dataclass
class ServeProcess:
    base: str
    emulator: str
    session: aiohttp.ClientSession
    process: asyncio.subprocess.Process
    #: What the server wrote to stderr, once it has stopped.
    stderr: str = ""
    _pinned: list[Pinned] = field(default_factory=list)

    async def readyz(self) -> dict[str, Any]:
        """``/readyz`` over a new connection (so any worker may answer)."""
        async with aiohttp.ClientSession() as fresh, fresh.get(self.base + "/readyz") as response:
            body: dict[str, Any] = await response.json()
            return body

    async def pinned(self, workers: int) -> list[Pinned]:
        """One session per worker, each on a connection a different worker accepted."""
        found: dict[str, Pinned] = {}
        spare: list[aiohttp.ClientSession] = []
        try:
            for _ in range(200):
                if len(found) == workers:
                    break
                session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
                async with session.get(self.base + "/readyz") as response:
                    instance = (await response.json())["instance"]
                if instance in found:
                    spare.append(session)  # held open, so the next connection goes elsewhere
                else:
                    found[instance] = Pinned(instance, session, self.base)
        finally:
            for session in spare:
                await session.close()
        self._pinned.extend(found.values())
        if len(found) != workers:
            raise AssertionError(f"{len(found)} distinct workers answered, not {workers}")
        return list(found.values())

    async def wait_for_workers(self, workers: int, besides: set[str] | None = None) -> None:
        """Until ``workers`` instances other than ``besides`` answer ``/readyz``."""
        await _wait_for_workers(self, workers, besides)

    def worker_pids(self) -> list[int]:
        """The running worker processes (spawned by ``multiprocessing``)."""
        return [
            pid for pid in children_of(self.process.pid) if "spawn_main" in (_command(pid) or "")
        ]

    async def vendor_requests(self) -> list[dict[str, Any]]:
        async with self.session.get(self.emulator + "/__emulator/requests") as response:
            requests: list[dict[str, Any]] = (await response.json())["requests"]
            return requests

    async def clear_vendor_requests(self) -> None:
        async with self.session.delete(self.emulator + "/__emulator/requests") as response:
            assert response.status == 204

    async def logins(self) -> int:
        return sum(
            1
            for r in await self.vendor_requests()
            if r["vendor"] == "absorb" and r["path"] == "/authenticate"
        )

    async def expire_absorb_tokens(self) -> int:
        url = self.emulator + "/__emulator/absorb/expire-tokens"
        async with self.session.post(url) as response:
            expired: int = (await response.json())["expired"]
            return expired

    async def close_pinned(self) -> None:
        for pinned in self._pinned:
            await pinned.session.close()
        self._pinned.clear()


def children_of(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (Linux ``/proc``)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 is the parent; the name (field 2) is in parentheses and may hold spaces.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def _command(pid: int) -> str | None:
    """The command line of a live process, None when it is gone (or a zombie)."""
    try:
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return None
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return None


async def _still_running(pids: list[int], seconds: float = 5.0) -> list[str]:
    """Commands of ``pids`` still running after up to ``seconds`` (multiprocessing's
    resource tracker leaves a moment after the parent)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while True:
        left = [c for c in map(_command, pids) if c is not None]
        if not left or asyncio.get_running_loop().time() > deadline:
            return left
        await asyncio.sleep(0.05)


@asynccontextmanager
async def serve_process(
    config_text: str,
    config_path: Path,
    *,
    workers: int,
    emulator_port: int,
    stop: signal.Signals = signal.SIGINT,
    flag: bool = True,
) -> AsyncIterator[ServeProcess]:
    """``lms-graph serve --workers N`` on a free port until every worker answers; on exit,
    ``stop`` (SIGINT: Ctrl-C) must end it with exit code 0 and leave none of its
    processes running. ``flag`` False leaves ``--workers`` out (the config says N)."""
    await asyncio.to_thread(config_path.write_text, config_text, encoding="utf-8")
    port = free_port()
    options = ["--workers", str(workers)] if flag else []
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "graph.cli", "serve", "--config", str(config_path),
        "--port", str(port), *options, "--log-level", "warning",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    children: list[int] = []
    server: ServeProcess | None = None
    try:
        async with aiohttp.ClientSession() as session:
            server = ServeProcess(base, f"http://127.0.0.1:{emulator_port}", session, process)
            await _wait_for_workers(server, workers)
            children = children_of(process.pid)
            try:
                yield server
            finally:
                await server.close_pinned()
                children += children_of(process.pid)  # workers started since
    finally:
        if process.returncode is None:
            process.send_signal(stop)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
        if server is not None:
            server.stderr = stderr.decode()
    assert process.returncode == 0, stderr.decode()
    left = await _still_running(children)
    assert not left, f"processes of the server left running: {left}"


async def _wait_for_workers(
    server: ServeProcess, workers: int, seen: set[str] | None = None
) -> None:
    """Until ``workers`` instances answered ``/readyz``, besides those in ``seen``."""
    seen = set(seen or ())
    workers += len(seen)
    deadline = asyncio.get_running_loop().time() + START_SECONDS
    while len(seen) < workers:
        if server.process.returncode is not None:
            raise AssertionError(f"lms-graph serve exited with {server.process.returncode}")
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"only {len(seen)} of {workers} workers answered /readyz")
        try:
            instance = (await server.readyz())["instance"]
        except aiohttp.ClientConnectionError:
            instance = None
        if instance is None or instance in seen:
            await asyncio.sleep(0.05)  # the next worker is still starting
        else:
            seen.add(instance)
