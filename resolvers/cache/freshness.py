"""How fresh the data of one request is: per source, when its oldest piece was fetched
from the vendor, and when the first cache entry it was built from stops being fresh.

The cached connector reports every entry a request reads or writes (its storage time and
how long it is fresh); the server binds one :class:`Freshness` per request through a
context variable, like the stale notices, so DataLoader tasks report into it too. The
response cache stores a response for as long as its shortest entry stays fresh, and only
when every piece of source data came from such an entry: data read past the cache (a kind
whose TTL is 0, a health check, a cache counter) makes the response uncacheable.
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass, field

__all__ = [
    "Freshness",
    "collect_freshness",
    "report_live",
    "report_uncacheable",
    "report_used",
]


@dataclass(slots=True)
class Freshness:
    """The freshness of one request's data.

    Attributes:
        oldest: Per source, the storage time (seconds since the epoch) of the oldest
            entry read or written; data fetched for this request counts as stored now.
        expires_at: When the first of those entries stops being fresh; None before any.
        uncacheable: Something in the response must never be served from a cache.
    """

    oldest: dict[str, float] = field(default_factory=dict)
    expires_at: float | None = None
    uncacheable: bool = False

    def used(self, source: str, stored_at: float, fresh_seconds: float) -> None:
        """Data of ``source`` stored at ``stored_at`` and fresh for ``fresh_seconds``
        (0: read live, never to be served again)."""
        known = self.oldest.get(source)
        if known is None or stored_at < known:
            self.oldest[source] = stored_at
        expires = stored_at + fresh_seconds
        if self.expires_at is None or expires < self.expires_at:
            self.expires_at = expires

    def storable_until(self) -> float | None:
        """When a response built from this data stops being fresh; None when it may not
        be stored at all (nothing came from a cache entry, or it shows something that
        no entry bounds)."""
        if self.uncacheable or not self.oldest:
            return None
        return self.expires_at


_FRESHNESS: ContextVar[Freshness | None] = ContextVar("lms_graph_freshness", default=None)


def collect_freshness(into: Freshness) -> Token[Freshness | None]:
    """Report the entries the current task (and the tasks it starts) use to ``into``."""
    return _FRESHNESS.set(into)


def report_used(source: str, stored_at: float, fresh_seconds: float) -> None:
    """The current request used an entry of ``source``; dropped outside a request."""
    freshness = _FRESHNESS.get()
    if freshness is not None:
        freshness.used(source, stored_at, fresh_seconds)


def report_live(source: str, now: float) -> None:
    """The current request read data of ``source`` past the cache, at ``now``: it is
    fresh this instant only, so no response holding it is stored."""
    report_used(source, now, 0)


def report_uncacheable() -> None:
    """The current request shows something that changes without any entry changing
    (the cache counters): its response must not be stored."""
    freshness = _FRESHNESS.get()
    if freshness is not None:
        freshness.uncacheable = True
