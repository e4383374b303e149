"""``lms-graph``: serve the API, print the demo config, export the schema, clear the cache,
register persisted documents, install GraphiQL's assets, make client keys."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError
from redis.exceptions import RedisError

from connectors.settings import SOURCE_NAME_PATTERN
from graph.clients import new_client
from graph.config import (
    DEMO_CONFIG,
    AppConfig,
    ClientSettings,
    ConfigError,
    demo_config,
    load_config,
)
from graph.graphiql import (
    GraphiQLInstallError,
    default_assets_dir,
    install_assets,
    pinned_assets,
)
from graph.logs import configure_logging
from resolvers.cache import ALL_KEYS_PREFIX, CacheStore, source_prefix
from resolvers.cache.responses import clear_responses

__all__ = ["listen_refusal", "main"]

MAX_WORKERS = 64  # as [server] workers


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1 to 65535)")
    return port


def _workers(text: str) -> int:
    try:
        workers = int(text)
    except ValueError:
        workers = 0
    if not 1 <= workers <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of workers (1 to 64)")
    return workers


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lms-graph", description="One GraphQL endpoint over every LMS."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve", help="run the GraphQL server (the embedded demo when no config is given)"
    )
    serve.add_argument(
        "--config",
        default=os.environ.get("LMS_GRAPH_CONFIG"),
        help="TOML config file (default: $LMS_GRAPH_CONFIG, else the embedded demo)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on")
    serve.add_argument(
        "--emulator-port",
        type=_port,
        help="move the [emulator] (the demo's vendor emulator) to this port, and the "
        "sources that read it with it (default: the config's [emulator] port, 8700)",
    )
    serve.add_argument(
        "--workers",
        type=_workers,
        help="server processes on the port (default: [server] workers, 1); with more than "
        'one, [cache] backend = "redis" lets them share caches and the Absorb token',
    )
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    export = commands.add_parser("export-schema", help="print the GraphQL schema (SDL)")
    export.add_argument("-o", "--output", help="write to this file instead of stdout")
    export.add_argument(
        "--federation",
        action="store_true",
        help="the Apollo Federation v2 subgraph's SDL ([server] federation = true)",
    )
    commands.add_parser("demo-config", help="print the TOML config the embedded demo uses")
    clients = commands.add_parser("clients", help="manage API clients")
    clients_commands = clients.add_subparsers(dest="clients_command", required=True)
    new = clients_commands.add_parser(
        "new", help="make a client key: prints the key once and the [[clients]] table"
    )
    new.add_argument("name", help="the client's name ([A-Za-z0-9_-])")
    new.add_argument("--sources", help="comma-separated sources the client may read (default: all)")
    cache = commands.add_parser("cache", help="manage the cache of vendor answers")
    cache_commands = cache.add_subparsers(dest="cache_command", required=True)
    clear = cache_commands.add_parser(
        "clear", help="delete cached entries and responses (Redis backend)"
    )
    clear.add_argument(
        "--source",
        help="only this source's entries and the responses that used it (default: all)",
    )
    clear.add_argument(
        "--config",
        default=os.environ.get("LMS_GRAPH_CONFIG"),
        help="TOML config file (default: $LMS_GRAPH_CONFIG, else the embedded demo)",
    )
    documents = commands.add_parser("documents", help="manage trusted persisted documents")
    documents_commands = documents.add_subparsers(dest="documents_command", required=True)
    add = documents_commands.add_parser(
        "add",
        help="register documents: Apollo manifests, Relay persisted_queries.json maps, "
        "or .graphql files",
    )
    add.add_argument("files", nargs="+", type=Path, metavar="FILE")
    listing = documents_commands.add_parser(
        "list", help="print the registered documents (manifests and the shared store)"
    )
    for command in (add, listing):
        command.add_argument(
            "--config",
            default=os.environ.get("LMS_GRAPH_CONFIG"),
            help="TOML config file (default: $LMS_GRAPH_CONFIG, else the embedded demo)",
        )
    graphiql = commands.add_parser("graphiql", help="GraphiQL served without a CDN")
    graphiql_commands = graphiql.add_subparsers(dest="graphiql_command", required=True)
    install = graphiql_commands.add_parser(
        "install", help="download GraphiQL's pinned assets from the npm registry (needs npm)"
    )
    install.add_argument(
        "--dir",
        type=Path,
        default=default_assets_dir(),
        help="where to put them; the server reads [graphiql] assets_dir (default: %(default)s)",
    )
    install.add_argument("--npm", default="npm", help="the npm command (default: npm)")
    return parser


def _install_graphiql(directory: Path, npm: str) -> int:
    """``lms-graph graphiql install``: exit 0 when every asset is in place, 1 otherwise."""
    try:
        fetched = install_assets(directory, npm=npm)
    except (GraphiQLInstallError, OSError) as exc:
        print(f"lms-graph: cannot install GraphiQL's assets: {exc}", file=sys.stderr)
        return 1
    total = len(pinned_assets())
    if fetched:
        print(f"installed {len(fetched)} of {total} GraphiQL assets into {directory}")
    else:
        print(f"GraphiQL's {total} assets are already installed in {directory}")
    return 0


async def _clear_store(store: CacheStore, source: str | None) -> tuple[int, int]:
    """Deletes the responses that used ``source`` (every response when None), then its
    entries; returns both counts. Responses first: their markers are among the entries."""
    prefix = source_prefix(source) if source is not None else ALL_KEYS_PREFIX
    try:
        responses = await clear_responses(store, source)
        return await store.clear(prefix), responses
    finally:
        await store.close()


def _clear_cache(config: AppConfig, source: str | None) -> int:
    """``lms-graph cache clear``: exit 0 when done (or nothing to do), 1 when it failed."""
    settings = config.cache
    names = [s.name for s in config.sources]
    if source is not None and source not in names:
        print(f"lms-graph: no source {source!r}; configured: {', '.join(names)}", file=sys.stderr)
        return 2
    if settings.backend != "redis":
        where = "is off" if settings.backend == "none" else "lives inside the server process"
        print(f"cache backend {settings.backend!r} {where}: restart the server to empty it")
        return 0
    store = settings.create_store()
    try:
        deleted, responses = asyncio.run(_clear_store(store, source))
    except (RedisError, OSError) as exc:
        # The class name only: the driver's message may quote the URL with its password.
        print(f"lms-graph: cannot clear {store.description}: {type(exc).__name__}", file=sys.stderr)
        return 1
    scope = f"source {source!r}" if source is not None else "every source"
    print(
        f"deleted {deleted} cached entries of {scope} and {responses} cached responses "
        f"from {store.description}"
    )
    return 0


def _new_client(name: str, sources: str | None) -> int:
    """``lms-graph clients new``: the key on stdout once, then the TOML to paste."""
    names = [s.strip() for s in sources.split(",") if s.strip()] if sources else None
    try:
        ClientSettings(name=name, key_sha256="0" * 64, sources=names)
    except ValidationError:
        print(f"lms-graph: client name {name!r} must match {SOURCE_NAME_PATTERN}", file=sys.stderr)
        return 2
    key, table = new_client(name, names)
    print(f"# API key of client {name!r}: shown only now, store it as a secret")
    print(key)
    print("\n# Add to the server config (it holds the key's SHA-256, not the key):")
    sys.stdout.write(table)
    return 0


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen_refusal(config: AppConfig, host: str) -> str | None:
    """Why the server must not listen on ``host``: without ``[[clients]]`` anyone who
    reaches the port reads every source, so only loopback unless that is intended."""
    if config.clients or config.server.allow_anonymous or _is_loopback(host):
        return None
    return (
        f"refusing to listen on {host} without client keys: add [[clients]] "
        "(lms-graph clients new NAME) or set [server] allow_anonymous = true"
    )


class PortBusyError(Exception):
    """A port we must listen on cannot be bound; the message is the one line to print."""


def _listen(host: str, port: int, setting: str) -> socket.socket:
    """A socket listening on ``host:port``, bound before anything starts, so that a busy
    port is one line naming it and ``setting`` (not a traceback from the server's start)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not create_server's protocol 0: asyncio sets TCP_NODELAY only on
    # sockets that say TCP, and without it every small answer (a response-cache hit)
    # waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.bind((host, port))
        sock.listen()
    except OSError as exc:
        sock.close()
        reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
        raise PortBusyError(
            f"lms-graph: cannot listen on {host}:{port} ({reason.lower()}); "
            f"choose another port with {setting}"
        ) from None
    return sock


def _serve(config: AppConfig, host: str, port: int, log_level: str, workers: int) -> int:
    refusal = listen_refusal(config, host)
    if refusal is not None:
        print(f"lms-graph: {refusal}", file=sys.stderr)
        return 2
    import uvicorn

    from graph.app import create_app
    from graph.workers import serve_workers

    try:
        server_socket = _listen(host, port, "--port")
    except PortBusyError as exc:
        print(exc, file=sys.stderr)
        return 1
    emulator_socket = None
    # Workers need the emulator's port before they start: port 0 is chosen here.
    if config.emulator is not None and (config.emulator.port != 0 or workers > 1):
        try:
            emulator_socket = _listen(
                config.emulator.host,
                config.emulator.port,
                "--emulator-port (or [emulator] port in the config)",
            )
        except PortBusyError as exc:
            server_socket.close()
            print(exc, file=sys.stderr)
            return 1
        if config.emulator.port == 0:
            config = config.with_emulator_port(emulator_socket.getsockname()[1])
    log_format = config.server.log_format
    configure_logging(log_level, log_format)
    try:
        # With workers, only to stop a bad config here rather than in every worker.
        app = create_app(config, emulator_socket=emulator_socket)
    except ConfigError as exc:
        server_socket.close()
        if emulator_socket is not None:
            emulator_socket.close()
        print(f"lms-graph: {exc}", file=sys.stderr)
        return 2
    if workers > 1:
        try:
            return serve_workers(
                config, server_socket, emulator_socket, workers=workers, log_level=log_level
            )
        finally:
            server_socket.close()
            if emulator_socket is not None:
                emulator_socket.close()
    # JSON: uvicorn's loggers go to our root handler, and our access line (which knows the
    # operation, client and sources) replaces uvicorn's.
    json_logs = log_format == "json"
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_level=log_level,
            log_config=None if json_logs else uvicorn.config.LOGGING_CONFIG,
            access_log=not json_logs,
        )
    )
    try:
        server.run(sockets=[server_socket])
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it shut down on, as uvicorn.run expects
    finally:
        server_socket.close()
        if emulator_socket is not None:
            emulator_socket.close()
    return 0 if server.started else 3  # 3: uvicorn's code for a failed start-up


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "demo-config":
        sys.stdout.write(DEMO_CONFIG)
        return 0
    if args.command == "graphiql":
        return _install_graphiql(args.dir, args.npm)
    if args.command == "export-schema":
        from graph.schema import build_schema, schema_sdl

        sdl = schema_sdl(build_schema(federation=True) if args.federation else None)
        if args.output:
            Path(args.output).write_text(sdl, encoding="utf-8")
        else:
            sys.stdout.write(sdl)
        return 0
    if args.command == "clients":
        return _new_client(args.name, args.sources)
    try:
        config = load_config(args.config) if args.config else demo_config()
    except ConfigError as exc:
        print(f"lms-graph: {exc}", file=sys.stderr)
        return 2
    if args.command == "cache":
        return _clear_cache(config, args.source)
    if args.command == "documents":
        from graph.documents_cli import add_documents, list_documents

        if args.documents_command == "add":
            return add_documents(config, args.files)
        return list_documents(config)
    if args.emulator_port is not None:
        try:
            config = config.with_emulator_port(args.emulator_port)
        except ConfigError as exc:
            print(f"lms-graph: {exc}", file=sys.stderr)
            return 2
    workers = args.workers if args.workers is not None else config.server.workers
    return _serve(config, args.host, args.port, args.log_level, workers)


if __name__ == "__main__":
    raise SystemExit(main())
