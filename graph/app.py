"""The ASGI application: GraphQL (with GraphiQL) on /graphql, liveness on /healthz,
readiness (each source's circuit breaker, and which instance answered) on /readyz,
Prometheus metrics on /metrics (or on ``[server] metrics_port``), and GraphiQL's assets on
/graphiql once ``lms-graph graphiql install`` put them in place.

Connectors, and in demo mode the vendor emulator, live as long as the app: they are
opened in the lifespan and closed on shutdown, so every request shares one HTTP
session per source. Each GraphQL request runs under ``[server] request_timeout_seconds``
(bound where its context is made, so its DataLoader tasks inherit it).

The edge is a stack of small middlewares: an ``X-Request-ID``, the request's telemetry
record (:mod:`graph.telemetry`: metrics, the JSON access line, the incoming
``traceparent``), CORS, the client's key (only with ``[[clients]]``; ``/healthz``,
``/readyz`` and ``/metrics`` stay open), cancelling when the
client disconnects, a body read timeout and the body-size cap; the other limits are
schema extensions (:mod:`graph.limits`). Each request's context carries the client's
share of the sources and binds the cursor key and the vendor-call counter for its tasks.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import socket
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from importlib.metadata import version as package_version
from typing import TYPE_CHECKING, Any

from prometheus_client.exposition import choose_encoder, start_wsgi_server
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket

from connectors._http import count_vendor_calls
from connectors.absorb.tokens import RedisTokenStore, TokenStore
from connectors.base import Connector
from connectors.breaker import BreakerState
from connectors.deadline import bind_deadline
from connectors.records import collect_bad_records
from connectors.sandbox import Emulator, demo_emulator
from connectors.settings import build_connector
from graph.body_limit import BodySizeLimit
from graph.body_timeout import BodyReadTimeout
from graph.clients import ClientKeyBackend, ClientUser, unauthenticated
from graph.config import AppConfig, ConfigError, EmulatorSettings, ServerSettings
from graph.cors import cors_middleware
from graph.disconnect import CancelOnDisconnect
from graph.documents import DocumentRegistry
from graph.graphiql import ASSETS_ROUTE, GraphiQLPage
from graph.http import GraphQLOverHTTP
from graph.metrics import Metrics
from graph.request_id import request_id_middleware
from graph.response_cache import COST_HEADER, FRESHNESS_HEADER, ResponseCache, server_version
from graph.schema import LmsGraphSchema, build_schema, schema_sdl
from graph.telemetry import RequestTelemetry
from resolvers.cache import (
    CachedConnector,
    CacheStore,
    Clock,
    collect_freshness,
    collect_stale_notices,
    redacted_url,
)
from resolvers.cache.responses import scope_digest
from resolvers.context import Context
from resolvers.cursors import cursor_key, use_cursor_key
from resolvers.sources import SourceRegistry

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from graph.tracing import Tracing

__all__ = ["COST_HEADER", "FRESHNESS_HEADER", "OPEN_PATHS", "create_app", "start_emulator"]

logger = logging.getLogger("lms_graph")

#: Paths any caller may reach, with or without a client key: probes, and the redirect to
#: /graphql (GraphiQL's page is open too, see graph.clients).
OPEN_PATHS = ("/", "/healthz", "/readyz", "/metrics")


class _State:
    registry: SourceRegistry | None = None


class GraphQLEndpoint(GraphQLOverHTTP):
    def __init__(
        self,
        state: _State,
        schema: LmsGraphSchema,
        documents: DocumentRegistry,
        graphiql: GraphiQLPage,
        server: ServerSettings,
        cursor_key: bytes,
        *,
        report_freshness: bool = False,
        clock: Clock = time.time,
    ) -> None:
        super().__init__(
            schema,
            documents,
            schema.max_tokens,
            schema.documents,
            report_freshness=report_freshness,
            clock=clock,
        )
        self._state = state
        self._graphiql = graphiql
        self._server = server
        self._cursor_key = cursor_key
        self._scopes: dict[tuple[int, tuple[str, ...] | None], str] = {}

    def response_scope(self, request: Request) -> str | None:
        registry = self._state.registry
        if registry is None:
            return None
        user = request.scope.get("user")
        client = user.client if isinstance(user, ClientUser) else None
        names = tuple(client.sources) if client and client.sources is not None else None
        memo = (id(registry), names)
        digest = self._scopes.get(memo)
        if digest is None:
            visible = registry.scoped(names)
            digest = scope_digest([(c.name, c.kind, c.tenant) for c in visible])
            self._scopes[memo] = digest
        return digest

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(self._graphiql.html(request.scope.get("root_path", "")))

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        if self._state.registry is None:
            raise RuntimeError("request before start-up finished")
        user = request.scope.get("user")
        client = user.client if isinstance(user, ClientUser) else None
        context = Context(
            sources=self._state.registry.scoped(client.sources if client else None),
            client=client.name if client else None,
            report_cost=request.headers.get(COST_HEADER, "").strip() in ("1", "true"),
        )
        # Resolvers and DataLoader tasks of this request inherit these bindings.
        collect_stale_notices(context.stale)
        collect_freshness(context.freshness)
        count_vendor_calls(context.vendor_calls)
        use_cursor_key(self._cursor_key)
        bind_deadline(self._server.request_timeout_seconds)
        collect_bad_records(context.bad_records)
        return context


async def healthz(_: Request) -> Response:
    return JSONResponse({"status": "ok"})


def readiness(registry: SourceRegistry | None) -> tuple[int, dict[str, Any]]:
    """Each source's breaker; 503 only when no source can serve (or before start-up)."""
    if registry is None:
        return 503, {"status": "starting", "sources": {}}
    sources: dict[str, Any] = {}
    for connector in registry:
        breaker = connector.breaker
        sources[connector.name] = {
            "kind": connector.kind,
            "breaker": breaker.state.value,
            "failures": breaker.failures,
            "retryInSeconds": round(breaker.retry_in, 1),
        }
    states = [source["breaker"] for source in sources.values()]
    if all(state == BreakerState.OPEN for state in states):
        return 503, {"status": "unavailable", "sources": sources}
    degraded = any(state != BreakerState.CLOSED for state in states)
    return 200, {"status": "degraded" if degraded else "ready", "sources": sources}


async def home(_: Request) -> Response:
    return RedirectResponse("/graphql")


async def start_emulator(settings: EmulatorSettings, sock: socket.socket | None) -> Emulator:
    """The demo emulator of ``[emulator]``, serving on ``sock`` (bound by the CLI) or on
    its own port; a port it cannot bind ends the server with one line."""
    emulator = demo_emulator(
        seed=settings.seed, users=settings.users, latency_seconds=settings.latency_ms / 1000
    )
    try:
        await emulator.start(settings.host, settings.port, sock=sock)
    except OSError as exc:
        raise SystemExit(
            f"lms-graph: cannot start the demo emulator on {settings.host}:{settings.port}: "
            f"{exc.strerror}; choose another [emulator] port"
        ) from None
    return emulator


def _absorb_tokens(config: AppConfig, stack: AsyncExitStack) -> TokenStore | None:
    """With a Redis cache, Absorb's token lives there: every process (``--workers``, other
    instances) reading one portal shares it; else each connector keeps its own."""
    absorb = any(source.kind == "absorb" for source in config.sources)
    if not absorb or config.cache.backend != "redis" or config.cache.url is None:
        return None
    url = config.cache.url.get_secret_value()
    tokens = RedisTokenStore.from_url(url, redacted_url(url), timeout=config.cache.timeout_seconds)
    stack.push_async_callback(tokens.close)
    return tokens


def _connectors(
    config: AppConfig, stack: AsyncExitStack, clock: Clock
) -> tuple[list[Connector], CacheStore | None]:
    """The configured sources, each behind the cache unless ``[cache] backend = "none"``,
    and the cache's store."""
    tokens = _absorb_tokens(config, stack)
    connectors = [build_connector(source, absorb_tokens=tokens) for source in config.sources]
    if not config.cache.enabled:
        return connectors, None
    store = config.cache.create_store()
    stack.push_async_callback(store.close)
    logger.info(
        "cache: %s, responses %s",
        store.description,
        "on" if config.cache.responses_enabled else "off",
    )
    policy = config.cache.policy()
    return [CachedConnector(c, store, policy, clock=clock) for c in connectors], store


def _documents(config: AppConfig, schema: LmsGraphSchema) -> DocumentRegistry:
    """The persisted-document registry; manifests are read and validated now, so a bad
    one stops the start (:class:`~graph.config.ConfigError`)."""
    graphql_schema = schema._schema
    manifests = config.documents.load_manifests(graphql_schema)
    return DocumentRegistry(
        config.documents_store(),
        graphql_schema,
        config.documents.policy(),
        manifests,
        parsed=schema.documents,
    )


def _tracing(config: AppConfig, exporter: SpanExporter | None) -> Tracing | None:
    if config.tracing is None:
        return None
    try:
        from graph.tracing import Tracing
    except ImportError as exc:
        raise ConfigError(
            f"[tracing] needs OpenTelemetry: pip install 'lms-graph[otel]' ({exc.name} missing)"
        ) from None
    return Tracing(config.tracing, exporter)


def _metrics_route(metrics: Metrics) -> Route:
    registry = metrics.scrape_registry()

    async def scrape(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        return Response(encoder(registry), headers={"Content-Type": content_type})

    return Route("/metrics", scrape)


def _serve_metrics(metrics: Metrics, host: str, port: int, stack: AsyncExitStack) -> None:
    """``/metrics`` on ``[server] metrics_port``: prometheus-client's own server, a thread."""
    try:
        httpd, thread = start_wsgi_server(port, host, metrics.scrape_registry())
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE and metrics.multiprocess:
            # A sibling worker serves it, and in multiprocess mode any worker's scrape
            # covers them all.
            logger.info("metrics port %d is served by another worker", port)
            return
        raise SystemExit(
            f"lms-graph: cannot serve metrics on {host}:{port}: "
            f"{exc.strerror}; choose another [server] metrics_port"
        ) from None

    def stop() -> None:
        httpd.shutdown()
        httpd.server_close()
        thread.join()

    stack.callback(stop)
    logger.info("metrics on http://%s:%d/metrics", host, port)


def create_app(
    config: AppConfig,
    *,
    clock: Clock = time.time,
    emulator_socket: socket.socket | None = None,
    span_exporter: SpanExporter | None = None,
) -> Starlette:
    """The server for ``config``; nothing is opened until the ASGI lifespan starts.

    Args:
        config: The loaded configuration.
        clock: Seconds since the epoch, as the cache reads them (tests move it).
        emulator_socket: The ``[emulator]``'s listening socket, already bound by the
            CLI (which reports a busy port in one line); None binds it at start-up.
        span_exporter: Where ``[tracing]`` sends spans instead of OTLP (tests).

    Raises:
        ConfigError: a ``[documents]`` manifest cannot be read or holds an invalid
            document, or ``[tracing]`` is set without OpenTelemetry installed.
    """
    state = _State()
    tracing = _tracing(config, span_exporter)
    metrics = Metrics(config.server.metrics_max_operations) if config.server.metrics else None
    schema = build_schema(
        config.limits,
        introspection=config.server.introspection,
        federation=config.server.federation,
        tracing=tracing.extension if tracing is not None else None,
    )
    documents = _documents(config, schema)
    secret = config.server.cursor_secret
    key = cursor_key(secret.get_secret_value() if secret is not None else None)
    graphiql = GraphiQLPage(config.graphiql.assets_dir)
    # What decides a response besides the request: two instances share stored responses
    # only when they run the same code, schema and limits and sign cursors alike.
    version = server_version(
        package_version("lms-graph"),
        schema_sdl(schema),
        config.limits.model_dump(mode="json"),
        config.server.introspection,
        cursor_key=key,
    )
    # Names this process in /readyz, so a caller can tell workers (or instances) apart
    # without learning anything about the host: random, unlike a pid.
    instance = secrets.token_hex(4)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.push_async_callback(documents.store.close)
            logger.info(
                "documents: mode %s, APQ %s, %d from manifests, stored in %s",
                config.documents.mode.value,
                "on" if config.documents.apq else "off",
                documents.manifest_count,
                documents.store.description,
            )
            if secret is None:
                logger.warning(
                    "no [server] cursor_secret: cursors are signed with a random key, so "
                    "they will not survive a restart or work across server instances"
                )
            if config.emulator is not None:
                emulator = await start_emulator(config.emulator, emulator_socket)
                stack.push_async_callback(emulator.stop)
                logger.info("vendor emulator serving the demo data on %s", emulator.base_url)
            connectors, store = _connectors(config, stack, clock)
            registry = SourceRegistry(connectors)
            await registry.open()
            stack.push_async_callback(registry.close)
            if store is not None and config.cache.responses_enabled:
                responses = ResponseCache(
                    store,
                    version=version,
                    clock=clock,
                    max_cost=config.limits.max_cost,
                    report_cost=config.limits.report_cost,
                    report_freshness=config.cache.report_freshness,
                )
                stack.push_async_callback(responses.close)
                endpoint.responses = responses
                stack.callback(setattr, endpoint, "responses", None)
            state.registry = registry
            if metrics is not None:
                metrics.watch_breakers({c.name: c.breaker for c in registry})
                port = config.server.metrics_port
                if port is not None:
                    _serve_metrics(metrics, config.server.metrics_host, port, stack)
            if tracing is not None:
                stack.callback(tracing.shutdown)
            logger.info("sources: %s", ", ".join(registry.names))
            logger.info("process %d answers /readyz as instance %s", os.getpid(), instance)
            if not graphiql.installed:
                logger.info(
                    "GraphiQL loads its assets from the CDN; `lms-graph graphiql install` "
                    "serves them from this server (%s)",
                    graphiql.assets_dir,
                )
            yield
            state.registry = None

    async def readyz(_: Request) -> Response:
        status, body = readiness(state.registry)
        return JSONResponse({**body, "instance": instance}, status_code=status)

    endpoint = GraphQLEndpoint(
        state,
        schema,
        documents,
        graphiql,
        config.server,
        key,
        report_freshness=config.cache.report_freshness,
        clock=clock,
    )
    routes: list[BaseRoute] = [
        Route("/", home),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/graphql", endpoint),
    ]
    if metrics is not None and config.server.metrics_port is None:
        routes.append(_metrics_route(metrics))
    if graphiql.installed:
        routes.append(Mount(ASSETS_ROUTE, StaticFiles(directory=graphiql.assets_dir)))
    # Outermost first: every answer has a request ID, CORS headers go on every answer
    # (401s and 408s included: a preflight carries no key, and a browser reads only
    # answers with CORS headers), the key is checked before anything reads the body, and
    # the body is read before disconnects are watched.
    middleware = [
        request_id_middleware(),
        Middleware(
            RequestTelemetry,
            metrics=metrics,
            tracing=tracing,
            access_log=config.server.log_format == "json",
        ),
        *cors_middleware(config.server),
    ]
    if config.clients:
        # GraphiQL's page loads its own assets: static files, no data.
        backend = ClientKeyBackend(config.clients, OPEN_PATHS, open_prefixes=[ASSETS_ROUTE])
        middleware.append(
            Middleware(AuthenticationMiddleware, backend=backend, on_error=unauthenticated)
        )
    middleware += [
        Middleware(CancelOnDisconnect),
        Middleware(BodyReadTimeout, seconds=config.server.body_timeout_seconds),
        Middleware(BodySizeLimit, max_bytes=config.limits.max_body_bytes),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
