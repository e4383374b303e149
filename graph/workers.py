"""``lms-graph serve --workers N``: N server processes on one listening socket.

uvicorn's own supervisor (:class:`uvicorn.supervisors.Multiprocess`, what ``uvicorn
--workers`` runs) starts the workers with ``multiprocessing``'s *spawn*, hands each the
socket the CLI bound, restarts a worker that dies (a worker that fails before serving
stops them all: exit code 3), and on SIGINT or SIGTERM sends SIGTERM to every worker and
waits for each. Spawned workers import nothing of the parent's state, so the app is a
factory (:class:`WorkerApp`) pickled to them with the loaded config.

What must exist once is made here, in the parent: the ``[emulator]`` (served by a thread
of the parent; the workers' sources point at it) and, without ``[server] cursor_secret``,
the random cursor key, so a cursor made by one worker is accepted by the others.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import threading
from dataclasses import dataclass

from pydantic import SecretStr
from starlette.applications import Starlette

from graph.config import AppConfig, ConfigError, EmulatorSettings
from graph.logs import configure_logging

__all__ = ["WorkerApp", "serve_workers", "worker_config"]

logger = logging.getLogger("lms_graph")

#: uvicorn's exit code for a server that could not start (``uvicorn.config.STARTUP_FAILURE``).
STARTUP_FAILURE = 3


@dataclass(frozen=True)
class WorkerApp:
    """The ASGI app factory each worker calls once it is spawned.

    Attributes:
        config: The config every worker serves (no ``[emulator]``: the parent runs it).
        log_level: The CLI's ``--log-level``, set up again in each worker.
    """

    config: AppConfig
    log_level: str

    def __call__(self) -> Starlette:
        from graph.app import create_app

        configure_logging(self.log_level, self.config.server.log_format)
        try:
            return create_app(self.config)
        except ConfigError as exc:
            # The parent checked the config first; a file changed since then. Exiting with
            # uvicorn's start-up failure stops the parent instead of restarting in a loop.
            logger.error("%s", exc)  # noqa: TRY400 - one line, as the CLI prints it
            raise SystemExit(STARTUP_FAILURE) from None


def worker_config(config: AppConfig, workers: int) -> AppConfig:
    """``config`` as each of ``workers`` processes serves it: no ``[emulator]`` (the
    parent serves it), and a cursor secret all of them share. Logs what differs from one
    process: the random cursor key, and caches that are per process."""
    server = config.server
    if server.cursor_secret is None:
        logger.warning(
            "no [server] cursor_secret: cursors are signed with a random key (shared by the "
            "%d workers), so they will not survive a restart or work across server instances",
            workers,
        )
        secret = SecretStr(secrets.token_urlsafe(32))
        server = server.model_copy(update={"cursor_secret": secret})
    if config.cache.backend != "redis":
        absorb = any(source.kind == "absorb" for source in config.sources)
        logger.warning(
            "[cache] backend = %r with %d workers: each worker has its own cache and "
            'persisted documents%s; backend = "redis" shares them',
            config.cache.backend,
            workers,
            ", and each logs in to Absorb, which keeps one token per user, so the "
            "workers knock each other's token out"
            if absorb
            else "",
        )
    return config.model_copy(update={"server": server, "emulator": None})


class EmulatorThread:
    """The ``[emulator]`` served by a thread of the parent with its own event loop."""

    def __init__(self, settings: EmulatorSettings, sock: socket.socket) -> None:
        self._settings = settings
        self._sock = sock
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="lms-graph-emulator", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            raise self._error

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        from graph.app import start_emulator

        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        try:
            emulator = await start_emulator(self._settings, self._sock)
        except BaseException as exc:  # noqa: BLE001 - handed to the thread that waits
            self._error = exc
            self._ready.set()
            return
        logger.info("vendor emulator serving the demo data on %s", emulator.base_url)
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await emulator.stop()


def serve_workers(
    config: AppConfig,
    server_socket: socket.socket,
    emulator_socket: socket.socket | None,
    *,
    workers: int,
    log_level: str,
) -> int:
    """Serve ``config`` with ``workers`` processes on ``server_socket`` until SIGINT or
    SIGTERM; the ``[emulator]`` (if any) on ``emulator_socket``, once, in this process.

    Returns:
        0 after a clean stop; 3 when a worker could not start (as uvicorn).
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    shared = worker_config(config, workers)
    emulator = None
    if config.emulator is not None and emulator_socket is not None:
        emulator = EmulatorThread(config.emulator, emulator_socket)
        emulator.start()
    try:
        app = WorkerApp(shared, log_level)
        # As one process does (graph/cli.py): JSON logs replace uvicorn's access lines.
        json_logs = config.server.log_format == "json"
        uv_config = uvicorn.Config(
            app,
            factory=True,
            workers=workers,
            log_level=log_level,
            log_config=None if json_logs else uvicorn.config.LOGGING_CONFIG,
            access_log=not json_logs,
        )
        supervisor = Multiprocess(uv_config, sockets=[server_socket])
        supervisor.run()
    finally:
        if emulator is not None:
            emulator.stop()
    failed = any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes)
    return STARTUP_FAILURE if failed else 0
