"""The HTTP transport every connector shares: one session, retries, error classification.

A connector supplies what is vendor-specific as data: its auth, how to read the vendor's
error code out of an error body, and which vendor codes mean what. Everything else,
timeouts, backoff with jitter, ``Retry-After`` and turning failures into
:mod:`connectors.errors`, happens here once.

Every attempt also runs under the request's deadline (:mod:`connectors.deadline`): it
is cut when the deadline comes (``SOURCE_TIMEOUT``), and a retry whose wait would pass
the deadline is not made. The source's :class:`~connectors.breaker.CircuitBreaker` is
asked before each attempt and told how it ended. A body larger than
``max_response_bytes`` is cut while it streams in.

Every HTTP request sent to a vendor (each try, logins included) is counted here and
nowhere else, per source, into the counter bound with :func:`count_vendor_calls` (the
server binds one per GraphQL request; tasks inherit it). A cache hit sends nothing, so
it counts nothing. Each of those requests, and each retry, is also described to the
request's observer (:mod:`connectors.observe`: metrics and spans), by source and templated
endpoint, never by URL or header.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
from collections import Counter
from collections.abc import Callable, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar

import aiohttp
from pydantic import TypeAdapter, ValidationError

from connectors.breaker import Admission, CircuitBreaker
from connectors.deadline import deadline, remaining
from connectors.errors import (
    ConnectorError,
    VendorAuthError,
    VendorBadResponse,
    VendorNotFound,
    VendorRateLimited,
    VendorRejectedRequest,
    VendorTimeout,
    VendorUnavailable,
)
from connectors.observe import VendorCall, endpoint_of, note_retry, observed_call
from connectors.records import BadRecords, SkipTally, report_bad_records

__all__ = [
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "STATUS_ERRORS",
    "Auth",
    "HttpTransport",
    "RetryPolicy",
    "count_vendor_calls",
]

logger = logging.getLogger(__name__)

QueryParams = Mapping[str, str]
ModelT = TypeVar("ModelT")

#: Time limits of one vendor call, unless the source configures its own.
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=5, connect=5)
#: Largest vendor body read by default; a larger one is a SOURCE_BAD_RESPONSE.
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024
_CHUNK = 64 * 1024
#: A call cut by the deadline counts as an outage for the breaker once it waited this long.
_SLOW_SECONDS = 1.0

#: What an HTTP status means when the vendor's body names no code we know.
STATUS_ERRORS: Mapping[int, type[ConnectorError]] = {
    400: VendorRejectedRequest,
    401: VendorAuthError,
    403: VendorAuthError,
    404: VendorNotFound,
    408: VendorUnavailable,
    409: VendorRejectedRequest,  # a conflict is not resolved by sending the same again
    422: VendorRejectedRequest,
    429: VendorRateLimited,
}

_CALLS: ContextVar[Counter[str] | None] = ContextVar("lms_graph_vendor_calls", default=None)


def count_vendor_calls(into: Counter[str]) -> Token[Counter[str] | None]:
    """Count the vendor calls of the current task, and of tasks it starts, by source."""
    return _CALLS.set(into)


class Auth(Protocol):
    """Adds credentials to a request; may renew them once when the vendor says 401."""

    async def headers(self, session: aiohttp.ClientSession) -> Mapping[str, str]: ...

    async def renew(self, session: aiohttp.ClientSession) -> bool:
        """Drop cached credentials; True when a retry with fresh ones makes sense."""
        ...


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, honouring the vendor's ``Retry-After``.

    A ``Retry-After`` longer than ``max_retry_after`` is not waited for: a GraphQL
    request should fail fast with SOURCE_RATE_LIMITED rather than hang.
    """

    max_attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 3.0
    max_retry_after: float = 5.0

    def delay(self, attempt: int, retry_after: float | None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up."""
        if attempt >= self.max_attempts:
            return None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        ceiling = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not crypto


def _retry_after_seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses as naive
        when = when.replace(tzinfo=UTC)
    seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


@dataclass
class HttpTransport:
    """JSON over HTTP for one configured source.

    Attributes:
        source: The configured source's name, carried into every error.
        vendor: The vendor kind, carried into every error.
        base_url: Prefix of every path, e.g. ``https://api.kombo.dev/v1``.
        auth: Supplies credential headers.
        error_code_of: Reads the vendor's error code (or None) out of a parsed error body.
        vendor_errors: Vendor error codes that override the status-based classification.
        status_errors: What a status means at this vendor, where it differs from (or adds
            to) :data:`STATUS_ERRORS`.
        breaker: The source's circuit breaker; None for a transport whose calls run inside
            another transport's attempt (Absorb's login), which the outer attempt covers.
        max_response_bytes: Largest body read; a larger one is cut while streaming.
    """

    source: str
    vendor: str
    base_url: str
    auth: Auth
    error_code_of: Callable[[Any], str | None] = lambda _body: None
    vendor_errors: Mapping[str, type[ConnectorError]] = field(default_factory=dict)
    status_errors: Mapping[int, type[ConnectorError]] = field(default_factory=dict)
    timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker: CircuitBreaker | None = None
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    _session: aiohttp.ClientSession | None = field(default=None, init=False, repr=False)

    async def open(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=self.timeout, raise_for_status=False, trust_env=False
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError(f"source {self.source!r}: transport used before open()")
        return self._session

    def error(self, cls: type[ConnectorError], detail: str, **kwargs: Any) -> ConnectorError:
        return cls(detail, source=self.source, vendor=self.vendor, **kwargs)

    async def get_json(self, path: str, params: QueryParams | None = None) -> Any:
        """GET ``base_url + path`` and return the parsed JSON body, retrying what is retriable."""
        return await self.request_json("GET", path, params=params)

    async def get_model(
        self, path: str, params: QueryParams | None, adapter: TypeAdapter[ModelT]
    ) -> ModelT:
        """GET and validate the body with ``adapter``; a body of another shape is a
        :class:`VendorBadResponse` (the vendor answered 2xx with something we cannot read).

        Records in ``Records[...]`` lists are read one by one: the unusable ones are
        dropped and reported once for this page as a :class:`BadRecords` notice."""
        body = await self.get_json(path, params)
        tally = SkipTally()
        try:
            model = adapter.validate_python(body, context=tally)
        except ValidationError as exc:
            detail = f"unexpected response shape ({exc.error_count()} problems)"
            raise self.error(
                VendorBadResponse, detail, method="GET", path=path, status=200
            ) from exc
        if tally.skipped:
            page = "&".join(f"{k}={v}" for k, v in sorted((params or {}).items()))
            notice = BadRecords(self.source, self.vendor, path, tally.skipped, page)
            logger.warning("%s", notice.message)
            report_bad_records(notice)
        return model

    async def request_json(
        self, method: str, path: str, *, params: QueryParams | None = None, json_body: Any = None
    ) -> Any:
        renewed = False
        attempt = 0
        last: ConnectorError | None = None
        while True:
            attempt += 1
            try:
                return await self._guarded(method, path, params, json_body, attempt)
            except VendorAuthError:
                if renewed or not await self.auth.renew(self.session):
                    raise
                renewed = True
            except ConnectorError as exc:
                if exc.breaker is not None and last is not None:
                    # The breaker opened while this call was between tries: the vendor's
                    # own failure says more than the refusal, so it is what the caller gets.
                    last.breaker = exc.breaker
                    raise last from None
                delay = self._retry_delay(attempt, exc)
                if delay is None:
                    raise
                last = exc
                note_retry(self.source, path, exc.code)
                logger.info("%s; retrying in %.2fs (attempt %d)", exc.message, delay, attempt)
                await asyncio.sleep(delay)

    def _retry_delay(self, attempt: int, exc: ConnectorError) -> float | None:
        if not exc.retriable or exc.breaker is not None:
            return None
        delay = self.retry.delay(attempt, exc.retry_after)
        left = remaining()
        if delay is None or (left is not None and delay >= left):
            return None  # waiting would pass the deadline: the caller gets the error now
        return delay

    async def _guarded(
        self, method: str, path: str, params: QueryParams | None, json_body: Any, attempt: int
    ) -> Any:
        """One attempt, under the deadline and the breaker."""
        where = {"method": method, "path": path}
        at = deadline()
        loop = asyncio.get_running_loop()
        if at is not None and at <= loop.time():
            detail = "the request's deadline passed before the call"
            raise self.error(VendorTimeout, detail, **where)
        breaker = self.breaker
        admission = breaker.admit() if breaker is not None else Admission.CALL
        if breaker is not None and admission is Admission.REFUSED:
            detail = (
                f"circuit breaker {breaker.state.value} after repeated failures; "
                f"next probe in {breaker.retry_in:.1f}s"
            )
            raise self.error(VendorUnavailable, detail, breaker=breaker.state.value, **where)
        started = loop.time()
        try:
            async with asyncio.timeout_at(at):
                result = await self._attempt(method, path, params, json_body, attempt)
        except TimeoutError as exc:  # _attempt turns its own timeouts into VendorUnavailable
            if breaker is not None:
                # A call cut within a second of starting says more about the request's
                # deadline than about the vendor.
                if loop.time() - started >= _SLOW_SECONDS:
                    breaker.failed(admission)
                else:
                    breaker.abandoned(admission)
            detail = "no answer before the request's deadline"
            raise self.error(VendorTimeout, detail, **where) from exc
        except ConnectorError as exc:
            if breaker is not None:
                if isinstance(exc, VendorTimeout):  # a nested call (Absorb's login) was cut
                    breaker.abandoned(admission)
                elif _is_outage(exc):
                    breaker.failed(admission)
                else:
                    breaker.succeeded()  # the vendor answered, if only to say no
            raise
        except BaseException:
            if breaker is not None:
                breaker.abandoned(admission)
            raise
        if breaker is not None:
            breaker.succeeded()
        return result

    async def _attempt(
        self, method: str, path: str, params: QueryParams | None, json_body: Any, attempt: int
    ) -> Any:
        """One HTTP request, described to the request's observer (:mod:`connectors.observe`)."""
        call = VendorCall(self.source, self.vendor, method, endpoint_of(path), attempt)
        with observed_call(call):
            try:
                return await self._send(method, path, params, json_body, call)
            except ConnectorError as exc:
                call.error = exc.code
                raise

    async def _send(
        self,
        method: str,
        path: str,
        params: QueryParams | None,
        json_body: Any,
        call: VendorCall,
    ) -> Any:
        where = {"method": method, "path": path}
        headers = await self.auth.headers(self.session)
        calls = _CALLS.get()
        if calls is not None:
            calls[self.source] += 1
        try:
            async with self.session.request(
                method, self.base_url + path, params=params, json=json_body, headers=headers
            ) as response:
                status = call.status = response.status
                retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
                body = await self._read_capped(response, where)
        except TimeoutError as exc:
            raise self.error(VendorUnavailable, "timed out", **where) from exc
        except aiohttp.ClientError as exc:
            detail = f"connection failed ({type(exc).__name__})"
            raise self.error(VendorUnavailable, detail, **where) from exc
        parsed = self._parse(body, status, where)
        if 200 <= status < 300:
            return parsed
        raise self._classify(status, parsed, retry_after, where)

    async def _read_capped(
        self, response: aiohttp.ClientResponse, where: Mapping[str, str]
    ) -> bytes:
        """The body, or VendorBadResponse as soon as it passes ``max_response_bytes``
        (leaving the response unread closes its connection)."""
        limit = self.max_response_bytes
        too_large = f"response larger than {limit} bytes"
        if response.content_length is not None and response.content_length > limit:
            raise self.error(VendorBadResponse, too_large, status=response.status, **where)
        body = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK):
            body += chunk
            if len(body) > limit:
                raise self.error(VendorBadResponse, too_large, status=response.status, **where)
        return bytes(body)

    def _parse(self, body: bytes, status: int, where: Mapping[str, str]) -> Any:
        if not body:
            return None
        try:
            return json.loads(body)
        except ValueError as exc:
            if 200 <= status < 300:
                raise self.error(
                    VendorBadResponse, "response is not JSON", status=status, **where
                ) from exc
            return None  # an error page in HTML: the status alone classifies it

    def _classify(
        self, status: int, body: Any, retry_after: float | None, where: Mapping[str, str]
    ) -> ConnectorError:
        vendor_code = self.error_code_of(body) if body is not None else None
        cls = (
            self.vendor_errors.get(vendor_code or "")
            or self.status_errors.get(status)
            or STATUS_ERRORS.get(status)
        )
        if cls is None:
            cls = VendorUnavailable if status >= 500 else VendorRejectedRequest
        detail = {
            VendorAuthError: "credentials or tenant rejected",
            VendorRateLimited: "rate limited",
            VendorUnavailable: "vendor failed",
            VendorNotFound: "not found",
        }.get(cls, "request rejected")
        return self.error(
            cls,
            detail,
            status=status,
            vendor_code=vendor_code,
            retry_after=retry_after,
            **where,
        )


def _is_outage(error: ConnectorError) -> bool:
    """Timeouts, connection failures and 5xx: what the circuit breaker counts."""
    return isinstance(error, VendorUnavailable) and (error.status is None or error.status >= 500)
