"""What the cache tells the rest of the server: per-source counters and stale-data notices.

A stale notice is raised deep inside a connector call, often in a DataLoader's batch
task; it reaches the GraphQL response through a context variable that the server binds
to the request's notice list (tasks inherit the variable, and the list is shared).
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass

__all__ = ["CacheStats", "StaleNotice", "collect_stale_notices", "report_stale"]


@dataclass(slots=True)
class CacheStats:
    """Counters of one source since the server started.

    Attributes:
        hits: Look-ups (records, pages, groups) answered from the cache.
        misses: Look-ups that went to the vendor.
        stale_served: Misses whose vendor call failed and that were answered with
            an expired entry instead (counted in ``misses`` too).
    """

    hits: int = 0
    misses: int = 0
    stale_served: int = 0


@dataclass(frozen=True, slots=True)
class StaleNotice:
    """Data of ``source`` was served from an expired entry because the source failed.

    Attributes:
        source: The configured source's name.
        age_seconds: How long ago the served entry was stored.
        cause: The stable code of the failure (``SOURCE_UNAVAILABLE`` …).
    """

    source: str
    age_seconds: float
    cause: str


_NOTICES: ContextVar[list[StaleNotice] | None] = ContextVar("lms_graph_stale_notices", default=None)


def collect_stale_notices(into: list[StaleNotice]) -> Token[list[StaleNotice] | None]:
    """Send the stale notices of the current task, and of tasks it starts, to ``into``."""
    return _NOTICES.set(into)


def report_stale(notice: StaleNotice) -> None:
    """Record a notice for the current request; dropped when no request collects them."""
    notices = _NOTICES.get()
    if notices is not None:
        notices.append(notice)
