"""The seam through which the server watches vendor calls and cache look-ups.

The connector layer knows nothing of Prometheus or OpenTelemetry: the transport
(:mod:`connectors._http`) describes each HTTP request it sends as a :class:`VendorCall`
and hands it to the :class:`CallObserver` bound for the current request with
:func:`observe_calls` (a context variable, like the vendor-call counter: DataLoader
tasks inherit it). The server's observer turns calls into metrics and spans; with none
bound, nothing is recorded and nothing is imported.

What a call carries is chosen for labels and span attributes: the source's name, a
templated endpoint (:func:`endpoint_of`: never an ID, an e-mail or a query string),
the HTTP status or the error code, and which try it was. Never a URL, a header or a
body: credentials travel in headers, and query strings can hold look-up values.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = [
    "ENDPOINT_SEGMENTS",
    "CacheStatus",
    "CallObserver",
    "VendorCall",
    "cache_status",
    "endpoint_of",
    "note_retry",
    "observe_calls",
    "observed_call",
    "record_cache",
    "serving_cache_miss",
    "stop_observing",
]

#: Path segments that name an endpoint rather than a record, across every vendor's API;
#: any other segment is shown as ``{id}``, so an endpoint label has a bounded set of
#: values whatever the IDs (a new vendor adds its words here; DEVELOPERS.md).
ENDPOINT_SEGMENTS = frozenset(
    {
        # Kombo
        "lms",
        "users",
        "courses",
        "skills",
        "course-progressions",
        # Absorb
        "authenticate",
        "bulk",
        "studentcourses",
        "enrollments",
        # Skilljar
        "v1",
        "ping",
        "domains",
        "published-courses",
        # StackOne
        "unified",
        "content",
        "assignments",
        "completions",
    }
)
_ID = "{id}"
_PATH_ONLY = re.compile(r"[?#].*\Z", re.DOTALL)

#: Why a vendor call is being made, as far as the cache knows: ``miss`` (the cache was
#: asked and had no fresh entry), ``bypass`` (caching of that kind is off) or ``off``
#: (the source has no cache).
CacheStatus = Literal["miss", "bypass", "off"]
_CACHE_STATUS: ContextVar[CacheStatus] = ContextVar("lms_graph_cache_status", default="off")


def endpoint_of(path: str) -> str:
    """``path`` with every segment that is not a known endpoint word as ``{id}``, and no
    query string: ``/v1/users/ab12/published-courses`` → ``/v1/users/{id}/published-courses``."""
    segments = _PATH_ONLY.sub("", path).split("/")
    return "/".join(s if not s or s in ENDPOINT_SEGMENTS else _ID for s in segments)


@dataclass(slots=True)
class VendorCall:
    """One HTTP request to a vendor (one try), filled in by the transport as it goes.

    Attributes:
        source: The configured source's name.
        vendor: The vendor kind (``kombo`` …).
        method: The HTTP method.
        endpoint: The templated path (:func:`endpoint_of`).
        attempt: 1 for the first try of a call, 2 for its first retry, and so on.
        cache: Why the call is made, as far as the cache knows.
        status: The vendor's HTTP status; None when no answer came.
        error: The error code the try ended with (``SOURCE_UNAVAILABLE`` …), None on 2xx.
    """

    source: str
    vendor: str
    method: str
    endpoint: str
    attempt: int = 1
    cache: CacheStatus = "off"
    status: int | None = None
    error: str | None = None

    @property
    def outcome(self) -> str:
        """The status as a label value: ``200``, ``503`` …, or ``error`` without an answer."""
        return str(self.status) if self.status is not None else "error"


class CallObserver(Protocol):
    """What the server plugs in to watch vendor calls and cache look-ups."""

    def vendor_call(self, call: VendorCall) -> AbstractContextManager[None]:
        """Wraps one try; ``call`` is complete (status, error) when the block exits."""
        ...

    def vendor_retry(self, source: str, endpoint: str, reason: str) -> None:
        """A try at ``source`` failed with the code ``reason`` and will be retried."""
        ...

    def cache_lookup(self, kind: str, hits: int, misses: int) -> None:
        """A cache of ``kind`` answered ``hits`` keys and missed ``misses``."""
        ...


_OBSERVER: ContextVar[CallObserver | None] = ContextVar("lms_graph_observer", default=None)


def observe_calls(observer: CallObserver | None) -> Token[CallObserver | None]:
    """Send the vendor calls and cache look-ups of the current task, and of the tasks it
    starts, to ``observer``."""
    return _OBSERVER.set(observer)


def stop_observing(token: Token[CallObserver | None]) -> None:
    """Undo the :func:`observe_calls` that returned ``token``."""
    _OBSERVER.reset(token)


@contextmanager
def observed_call(call: VendorCall) -> Iterator[VendorCall]:
    """The block of one try, watched by the bound observer (if any)."""
    observer = _OBSERVER.get()
    call.cache = _CACHE_STATUS.get()
    if observer is None:
        yield call
        return
    with observer.vendor_call(call):
        yield call


def note_retry(source: str, path: str, reason: str) -> None:
    """A try failed with the code ``reason`` and the call will be tried again."""
    observer = _OBSERVER.get()
    if observer is not None:
        observer.vendor_retry(source, endpoint_of(path), reason)


def record_cache(kind: str, *, hits: int = 0, misses: int = 0) -> None:
    """Count cache hits and misses of ``kind`` (``users``, ``response`` …) for metrics:
    one call wherever a cache answers."""
    observer = _OBSERVER.get()
    if observer is not None and (hits or misses):
        observer.cache_lookup(kind, hits, misses)


def cache_status() -> CacheStatus:
    return _CACHE_STATUS.get()


@contextmanager
def serving_cache_miss(status: CacheStatus) -> Iterator[None]:
    """Vendor calls made inside the block (and in tasks it starts) are for a cache ``status``."""
    token = _CACHE_STATUS.set(status)
    try:
        yield
    finally:
        _CACHE_STATUS.reset(token)
