"""Tenant-safe caching of connector calls across requests, on aiocache (memory or Redis).

:class:`CachedConnector` wraps any connector and is one itself, so the registry, the
DataLoaders and the resolvers use it unchanged; see :mod:`resolvers.cache.connector`
for what is cached and :mod:`resolvers.cache.keys` for the key layout.
"""

from __future__ import annotations

from resolvers.cache.connector import CachedConnector, Clock
from resolvers.cache.freshness import (
    Freshness,
    collect_freshness,
    report_live,
    report_uncacheable,
    report_used,
)
from resolvers.cache.keys import ALL_KEYS_PREFIX, CacheKeys, source_prefix
from resolvers.cache.notices import CacheStats, StaleNotice, collect_stale_notices, report_stale
from resolvers.cache.policy import CachePolicy
from resolvers.cache.stores import (
    BoundedMemoryCache,
    CacheStore,
    MemoryStore,
    RedisStore,
    create_store,
    redacted_url,
)

__all__ = [
    "ALL_KEYS_PREFIX",
    "BoundedMemoryCache",
    "CacheKeys",
    "CachePolicy",
    "CacheStats",
    "CacheStore",
    "CachedConnector",
    "Clock",
    "Freshness",
    "MemoryStore",
    "RedisStore",
    "StaleNotice",
    "collect_freshness",
    "collect_stale_notices",
    "create_store",
    "redacted_url",
    "report_live",
    "report_stale",
    "report_uncacheable",
    "report_used",
    "source_prefix",
]
