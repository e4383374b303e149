"""Where entries live: aiocache's memory backend (bounded, LRU) or Redis.

Both stores keep opaque bytes under string keys and never raise from reads or writes:
a store that fails (Redis down, a timeout) answers every read with a miss and skips
writes, so queries go to the vendors. One warning is logged per outage, and the store
is not tried again for :data:`RETRY_AFTER_SECONDS`, so a hanging Redis costs one
timeout, not one per key.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

from aiocache import RedisCache, SimpleMemoryCache
from aiocache.base import BaseCache
from aiocache.serializers import BaseSerializer
from redis.exceptions import RedisError

__all__ = [
    "RETRY_AFTER_SECONDS",
    "BoundedMemoryCache",
    "CacheStore",
    "MemoryStore",
    "RedisStore",
    "create_store",
    "redacted_url",
]

logger = logging.getLogger("lms_graph.cache")

#: After a failure the store is left alone this long before it is tried again.
RETRY_AFTER_SECONDS = 5.0
_SCAN_BATCH = 500
# What a reachable-or-not store raises; anything else is a bug and propagates.
_STORE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


class CacheStore(Protocol):
    """Bytes by key with a TTL; reads and writes never raise."""

    description: str

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        """The value of each key, None where missing (or the store is failing)."""
        ...

    async def set_many(self, items: Sequence[tuple[str, bytes]], ttl: int | None) -> None:
        """Store every pair for ``ttl`` seconds (> 0; None: until evicted or deleted);
        skipped while the store fails."""
        ...

    async def keys(self, prefix: str) -> list[str]:
        """Every key starting with ``prefix``. May raise."""
        ...

    async def clear(self, prefix: str) -> int:
        """Delete every key starting with ``prefix``; returns how many. May raise."""
        ...

    async def close(self) -> None: ...


class _RawSerializer(BaseSerializer):  # type: ignore[misc]
    """Bytes in, bytes out: entries are serialised by :mod:`resolvers.cache.entries`."""

    DEFAULT_ENCODING = None

    def dumps(self, value: bytes) -> bytes:
        return value

    def loads(self, value: bytes | None) -> bytes | None:
        return value


class BoundedMemoryCache(SimpleMemoryCache):  # type: ignore[misc]
    """aiocache's memory backend holding at most ``max_entries`` keys.

    ``SimpleMemoryCache`` only forgets a key when its TTL fires; under traffic with many
    distinct keys it grows without limit. Here its dict is an ``OrderedDict`` kept in
    least-recently-used order (a read or a write makes a key the newest), and a write
    beyond ``max_entries`` evicts the oldest keys, TTL timers included.
    """

    _handlers: dict[str, asyncio.TimerHandle]

    def __init__(self, max_entries: int, **kwargs: Any) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        super().__init__(**kwargs)
        self.max_entries = max_entries
        self._cache: OrderedDict[str, object] = OrderedDict()

    def __len__(self) -> int:
        return len(self._cache)

    def lru_order(self) -> list[str]:
        """Keys from least to most recently used."""
        return list(self._cache)

    async def _get(self, key: str, encoding: str | None = "utf-8", _conn: Any = None) -> Any:
        value = self._cache.get(key)
        if value is not None:
            self._cache.move_to_end(key)
        return value

    async def _multi_get(
        self, keys: Sequence[str], encoding: str | None = "utf-8", _conn: Any = None
    ) -> list[Any]:
        return [await self._get(key) for key in keys]

    async def _set(
        self,
        key: str,
        value: Any,
        ttl: float | None = None,
        _cas_token: Any = None,
        _conn: Any = None,
    ) -> Any:
        result = await super()._set(key, value, ttl=ttl, _cas_token=_cas_token)
        if key in self._cache:
            self._cache.move_to_end(key)
        while len(self._cache) > self.max_entries:
            await self._delete(next(iter(self._cache)))
        return result

    async def _clear(self, namespace: str | None = None, _conn: Any = None) -> bool:
        if namespace:
            return bool(await super()._clear(namespace))
        for handle in self._handlers.values():
            handle.cancel()
        self._cache, self._handlers = OrderedDict(), {}
        return True


class _Outage:
    """Tracks whether a store is failing: one warning per outage, a pause between tries."""

    def __init__(self, description: str, monotonic: Callable[[], float]) -> None:
        self._description = description
        self._monotonic = monotonic
        self._failed_at: float | None = None

    def ready(self) -> bool:
        failed_at = self._failed_at
        return failed_at is None or self._monotonic() - failed_at >= RETRY_AFTER_SECONDS

    def failed(self, error: BaseException) -> None:
        if self._failed_at is None:
            # The class name only: a driver's message may quote the URL it was given.
            logger.warning(
                "cache %s failed (%s); reading from the sources until it answers again",
                self._description,
                type(error).__name__,
            )
        self._failed_at = self._monotonic()

    def succeeded(self) -> None:
        if self._failed_at is not None:
            logger.info("cache %s answers again", self._description)
            self._failed_at = None


class _AiocacheStore:
    """A :class:`CacheStore` over an aiocache backend."""

    def __init__(
        self,
        cache: BaseCache,
        description: str,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.description = description
        self._cache = cache
        self._outage = _Outage(description, monotonic)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        if not keys or not self._outage.ready():
            return [None] * len(keys)
        try:
            values = await self._cache.multi_get(list(keys))
        except _STORE_ERRORS as error:
            self._outage.failed(error)
            return [None] * len(keys)
        self._outage.succeeded()
        return [value if isinstance(value, bytes) else None for value in values]

    async def set_many(self, items: Sequence[tuple[str, bytes]], ttl: int | None) -> None:
        if not items or (ttl is not None and ttl <= 0) or not self._outage.ready():
            return
        try:
            await self._cache.multi_set(list(items), ttl=ttl)
        except _STORE_ERRORS as error:
            self._outage.failed(error)
        else:
            self._outage.succeeded()


class MemoryStore(_AiocacheStore):
    """Entries inside this process, at most ``max_entries`` of them (LRU eviction)."""

    def __init__(self, max_entries: int, *, timeout: float = 1.0) -> None:
        self.backend = BoundedMemoryCache(max_entries, serializer=_RawSerializer(), timeout=timeout)
        super().__init__(self.backend, "memory")

    async def keys(self, prefix: str) -> list[str]:
        return [key for key in self.backend.lru_order() if key.startswith(prefix)]

    async def clear(self, prefix: str) -> int:
        doomed = await self.keys(prefix)
        for key in doomed:
            await self.backend.delete(key)
        return len(doomed)

    async def close(self) -> None:
        await self.backend.clear()


def redacted_url(url: str) -> str:
    """``url`` without its user name and password, for logs and messages."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    host = f"[{host}]" if ":" in host else host  # an IPv6 address
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _glob_escaped(text: str) -> str:
    return re.sub(r"([*?\[\]\\])", r"\\\1", text)


class RedisStore(_AiocacheStore):
    """Entries in Redis through aiocache's ``RedisCache`` (``redis://`` or ``rediss://``)."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        parts = urlsplit(url)
        db = parts.path.strip("/") or "0"
        if parts.scheme not in {"redis", "rediss"} or not db.isdigit():
            raise ValueError("cache url must look like redis://host:6379/0")
        pool: dict[str, Any] = {"socket_timeout": timeout}
        if parts.username:
            pool["username"] = unquote(parts.username)
        self.backend = RedisCache(
            serializer=_RawSerializer(),
            endpoint=parts.hostname or "127.0.0.1",
            port=parts.port or 6379,
            db=int(db),
            password=unquote(parts.password) if parts.password else None,
            ssl=parts.scheme == "rediss",
            timeout=timeout,
            create_connection_timeout=timeout,
            connection_pool_kwargs=pool,
        )
        super().__init__(self.backend, redacted_url(url), monotonic)

    async def keys(self, prefix: str) -> list[str]:
        """SCAN, not KEYS, which blocks the server."""
        pattern = _glob_escaped(prefix) + "*"
        found = self.backend.client.scan_iter(match=pattern, count=_SCAN_BATCH)
        return [key.decode("utf-8") async for key in found]

    async def clear(self, prefix: str) -> int:
        """SCAN (not KEYS, which blocks the server) and delete in batches."""
        client = self.backend.client
        pattern = _glob_escaped(prefix) + "*"
        deleted = 0
        batch: list[bytes] = []
        async for key in client.scan_iter(match=pattern, count=_SCAN_BATCH):
            batch.append(key)
            if len(batch) >= _SCAN_BATCH:
                deleted += await client.delete(*batch)
                batch.clear()
        if batch:
            deleted += await client.delete(*batch)
        return deleted

    async def close(self) -> None:
        # aiocache's close() calls redis-py's deprecated close(); aclose() is its successor.
        await self.backend.client.aclose()


def create_store(
    backend: str, url: str | None = None, *, max_entries: int = 10_000, timeout: float = 1.0
) -> CacheStore:
    """The store ``[cache] backend`` names (``memory`` or ``redis``)."""
    if backend == "memory":
        return MemoryStore(max_entries, timeout=timeout)
    if backend == "redis":
        if url is None:
            raise ValueError("the redis cache backend needs a url")
        return RedisStore(url, timeout=timeout)
    raise ValueError(f"unknown cache backend {backend!r}")
