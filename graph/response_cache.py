"""The response cache in front of execution: a repeated query is answered with the bytes
its first execution produced, without parsing, validating or executing it again.

What is stored, and for how long (README, "Response cache"):

- Queries only, answered without any error or warning, built only from cache entries
  (every entry read or written while executing is reported to the request's
  :class:`~resolvers.cache.Freshness`). The response lives until the first of those
  entries stops being fresh; anything read past the cache (a kind whose TTL is 0, a
  health check, the cache counters) keeps it from being stored. Introspection reads no
  entry, so it is not stored either: there is no TTL to bound it, and it changes only
  with the server's version.
- The key (:func:`~resolvers.cache.responses.response_key`) is a digest of the server's
  version (code, schema, limits, cursor key), the document's SHA-256, the operation name,
  the variables and the client's sources. The same key therefore means the same document
  run with the same limits: the limits that refused or admitted it then decide the same
  now, so a hit skips them. Client keys, the documents mode and the body limit are still
  applied on every request, before the look-up.
- Identical concurrent misses run once (:class:`~resolvers.cache.flight.SingleFlight`):
  the others wait for it and are answered from what it built; when it could not be
  stored, each runs on its own.

HTTP: a GET answered from a stored response carries ``Cache-Control: private,
max-age=<seconds left>``, ``Vary: Accept, Authorization`` and a strong ``ETag`` of the
bytes sent, and a matching ``If-None-Match`` gets 304. A GET that could not be stored says
``Cache-Control: no-store``. POST answers have no caching headers (HTTP caches do not
store POST answers). ``X-LMS-Graph-Cache`` says ``HIT`` or ``MISS``.
"""

from __future__ import annotations

import hmac
import logging
import math
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from strawberry.types import ExecutionResult

from graph.telemetry import note_stored_answer
from resolvers.cache import CacheStore
from resolvers.cache.flight import SingleFlight
from resolvers.cache.responses import (
    StoredResponse,
    etag_of,
    response_key,
    response_markers,
)
from resolvers.context import Context

__all__ = [
    "CACHE_STATUS_HEADER",
    "COST_HEADER",
    "FRESHNESS_HEADER",
    "Pending",
    "ResponseCache",
    "asks",
    "current_pending",
    "freshness_extension",
    "server_version",
]

logger = logging.getLogger("lms_graph.responses")

#: A request header asking for ``extensions.cost`` in the response (value ``1``).
COST_HEADER = "X-LMS-Graph-Cost"
#: A request header asking for ``extensions.freshness`` in the response (value ``1``).
FRESHNESS_HEADER = "X-LMS-Graph-Freshness"
#: Response header: ``HIT`` (answered from a stored response) or ``MISS`` (executed).
CACHE_STATUS_HEADER = "X-LMS-Graph-Cache"
_VARY = "Accept, Authorization"

Clock = Callable[[], float]


def asks(request: Request, header: str) -> bool:
    """The request sent ``header: 1`` (or ``true``)."""
    return request.headers.get(header, "").strip() in ("1", "true")


def server_version(*parts: Any, cursor_key: bytes) -> str:
    """A digest of what decides a response besides the request: ``parts`` (code version,
    schema text, limits …) and the cursor key, through an HMAC so the digest tells
    nothing about the key. Instances share responses only when this is equal."""
    cursor = hmac.new(cursor_key, b"lms-graph response cache", sha256).hexdigest()
    return sha256(orjson.dumps([*parts, cursor], default=str)).hexdigest()


def freshness_extension(
    oldest: Mapping[str, float], now: float, live: Mapping[str, int] | None = None
) -> dict[str, dict[str, int]]:
    """``extensions.freshness``: per source used, whole seconds since its oldest data was
    fetched from the vendor; ``live`` sources (read without a cache) are 0."""
    ages = {source: {"ageSeconds": 0} for source in live or {}}
    for source, stored_at in oldest.items():
        ages[source] = {"ageSeconds": int(max(0.0, now - stored_at))}
    return ages


@dataclass(slots=True)
class Pending:
    """A request the response cache looked at, on its way through execution.

    Attributes:
        params: The request's parameters, already checked.
        query: The document text the request runs.
        key: Its response key; None when it cannot be cached.
        built: What its execution left to store (None: nothing storable).
        actual: Its vendor calls per source, for ``extensions.cost``.
    """

    params: dict[str, Any]
    query: str
    key: str | None
    built: StoredResponse | None = None
    actual: dict[str, int] = field(default_factory=dict)


_PENDING: ContextVar[Pending | None] = ContextVar("lms_graph_pending_response", default=None)


def current_pending() -> Pending | None:
    """The request the response cache is handling in this task, if any."""
    return _PENDING.get()


@dataclass(frozen=True, slots=True)
class _Outcome:
    leader: Pending
    response: Response
    stored: StoredResponse | None


Run = Callable[[Request], Awaitable[Response]]


class ResponseCache:
    """Stored responses in a :class:`~resolvers.cache.CacheStore`.

    Args:
        store: The cache's store (memory or Redis), shared with the entries.
        version: :func:`server_version` of this server.
        clock: Seconds since the epoch, the entries' clock.
        max_cost: ``[limits] max_cost``, reported in ``extensions.cost``.
        report_cost: ``[limits] report_cost``.
        report_freshness: ``[cache] report_freshness``.
    """

    def __init__(
        self,
        store: CacheStore,
        *,
        version: str,
        clock: Clock,
        max_cost: int,
        report_cost: bool = False,
        report_freshness: bool = False,
    ) -> None:
        self.store = store
        self.version = version
        self.clock = clock
        self.max_cost = max_cost
        self.report_cost = report_cost
        self.report_freshness = report_freshness
        self._flights = SingleFlight[_Outcome]()

    def key(self, document_sha256: str, params: Mapping[str, Any], scope: str) -> str | None:
        """The request's key; None when it cannot be cached (variables that are not
        plain JSON)."""
        try:
            return response_key(
                version=self.version,
                document_sha256=document_sha256,
                operation_name=params.get("operationName"),
                variables=params.get("variables"),
                scope=scope,
            )
        except (TypeError, ValueError):
            return None

    def bind(self, pending: Pending) -> None:
        """Make ``pending`` the request of this task (and the tasks it starts)."""
        _PENDING.set(pending)

    async def lookup(self, key: str) -> StoredResponse | None:
        (raw,) = await self.store.get_many([key])
        if raw is None:
            return None
        stored = StoredResponse.decode(raw)
        if stored is None or stored.expires_at <= self.clock():
            return None
        return stored

    def storable(self, context: Context, result: ExecutionResult) -> StoredResponse | None:
        """What to store for an executed request; None when it must not be stored (the
        reason is logged at DEBUG: ``lms_graph.responses``)."""
        freshness = context.freshness
        until = freshness.storable_until()
        now = self.clock()
        if result.errors or result.data is None:
            reason = "it has errors"
        elif context.operation_type != "query":
            reason = "it is not a query"
        elif context.failures or context.stale or context.bad_records:
            reason = "a source failed or served stale data"
        elif freshness.uncacheable:
            reason = "it shows the cache counters"
        elif until is None:
            reason = "it read no cache entry (introspection, or only configuration)"
        elif until - now < 1:
            reason = "data was read live (a health check, or a kind whose TTL is 0)"
        else:
            logger.debug(
                "response stored for %d s (sources %s)", until - now, ", ".join(freshness.oldest)
            )
            return StoredResponse.build(
                result.data,
                built_at=now,
                expires_at=until,
                oldest=freshness.oldest,
                cost=context.cost_estimate,
                operation=context.operation_name,
            )
        logger.debug("response not stored: %s", reason)
        return None

    async def save(self, key: str, stored: StoredResponse) -> None:
        ttl = math.ceil(stored.expires_at - self.clock())
        if ttl <= 0:
            return
        items = [(key, stored.encode())]
        items += [(marker, b"1") for marker in response_markers(key, stored.sources)]
        await self.store.set_many(items, ttl)

    async def execute_once(
        self, key: str, pending: Pending, request: Request, run: Run, media: str
    ) -> Response:
        """Run ``request`` (whose key is ``key``) once for every identical request that
        misses meanwhile; ``media`` is the negotiated response media type."""

        async def call(keys: list[str]) -> dict[str, _Outcome]:
            response = await run(request)
            if pending.built is not None:
                await self.save(key, pending.built)
            return {key: _Outcome(pending, response, pending.built)}

        (outcome,) = await self._flights.run([key], call)
        if isinstance(outcome, BaseException):
            raise outcome
        if outcome.stored is not None:
            mine = outcome.leader is pending
            actual = pending.actual if mine else {}
            return self.render(request, outcome.stored, hit=not mine, actual=actual, media=media)
        if outcome.leader is pending:
            return self._uncached(request, outcome.response)
        response = await run(request)  # what it built could not be shared: run this one
        if pending.built is not None:
            await self.save(key, pending.built)
            return self.render(
                request, pending.built, hit=False, actual=pending.actual, media=media
            )
        return self._uncached(request, response)

    @staticmethod
    def _uncached(request: Request, response: Response) -> Response:
        response.headers[CACHE_STATUS_HEADER] = "MISS"
        if request.method == "GET":
            response.headers["cache-control"] = "no-store"
        return response

    def render(
        self,
        request: Request,
        stored: StoredResponse,
        *,
        hit: bool,
        media: str,
        actual: Mapping[str, int] | None = None,
    ) -> Response:
        """The HTTP answer for a stored response; 304 for a GET whose ``If-None-Match``
        names its ETag."""
        if hit:
            note_stored_answer(stored.operation)
        now = self.clock()
        body, etag = stored.body, stored.etag
        extensions: dict[str, Any] = {}
        if self.report_cost or asks(request, COST_HEADER):
            extensions["cost"] = {
                "estimated": stored.cost or {},
                "actual": dict(actual or {}),
                "maxCost": self.max_cost,
            }
        if self.report_freshness or asks(request, FRESHNESS_HEADER):
            extensions["freshness"] = freshness_extension(stored.oldest, now)
        if extensions:
            body = body[:-1] + b',"extensions":' + orjson.dumps(extensions) + b"}"
            etag = etag_of(body)
        headers = {CACHE_STATUS_HEADER: "HIT" if hit else "MISS"}
        if request.method == "GET":
            headers["cache-control"] = f"private, max-age={int(stored.expires_at - now)}"
            headers["vary"] = _VARY
            headers["etag"] = etag
            if _matches(request.headers.get("if-none-match"), etag):
                return Response(status_code=304, headers=headers)
        return Response(body, headers=headers, media_type=f"{media}; charset=utf-8")

    @property
    def waiting(self) -> int:
        """Requests waiting on a run in flight (the one that started it included)."""
        return self._flights.waiting

    async def close(self) -> None:
        await self._flights.close()


def _matches(if_none_match: str | None, etag: str) -> bool:
    """``If-None-Match`` against our ETag, with the weak comparison RFC 9110 asks for."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False
