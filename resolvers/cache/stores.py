"""Where entries live: in this process (bounded by bytes, LRU, on ``cachetools``) or in
Redis (through aiocache).

Both stores keep opaque bytes under string keys and never raise from reads or writes;
the memory store may keep a decoded value instead (``set_decoded``), so a hit skips
decoding. A store that fails (Redis down, a timeout) answers every read with a miss and
skips writes, so queries go to the vendors. One warning is logged per outage, and the store
is not tried again for :data:`RETRY_AFTER_SECONDS`, so a hanging Redis costs one
timeout, not one per key.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

from aiocache import RedisCache
from aiocache.base import BaseCache
from aiocache.serializers import BaseSerializer
from cachetools import TLRUCache
from redis.exceptions import RedisError

__all__ = [
    "ALLOCATOR_SLACK",
    "DECODED_BYTES_PER_JSON_BYTE",
    "ENTRY_OVERHEAD_BYTES",
    "RETRY_AFTER_SECONDS",
    "BoundedMemoryCache",
    "CacheStore",
    "Decoder",
    "MemoryStore",
    "RedisStore",
    "create_store",
    "redacted_url",
]

logger = logging.getLogger("lms_graph.cache")

#: After a failure the store is left alone this long before it is tried again.
RETRY_AFTER_SECONDS = 5.0
_SCAN_BATCH = 500
T = TypeVar("T")
#: Turns stored bytes into a value.
Decoder = Callable[[bytes], T]

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

    async def get_decoded(self, keys: Sequence[str], decode: Decoder[T]) -> list[T | None]:
        """Each key's value through ``decode`` (None where missing or not decodable); a
        store may keep values decoded (the memory store), so the same key must always be
        read with the same ``decode``."""
        ...

    async def set_decoded(self, items: Sequence[tuple[str, bytes, Any]], ttl: int | None) -> None:
        """:meth:`set_many` of ``(key, bytes)``, where a store may keep the decoded value
        (which must be immutable: every reader gets the same object) instead."""
        ...

    async def keys(self, prefix: str) -> list[str]:
        """Every key starting with ``prefix``. May raise."""
        ...

    async def clear(self, prefix: str) -> int:
        """Delete every key starting with ``prefix``; returns how many. May raise."""
        ...

    async def delete_many(self, keys: Sequence[str]) -> int:
        """Delete these keys; returns how many existed. May raise."""
        ...

    async def close(self) -> None: ...


class _RawSerializer(BaseSerializer):  # type: ignore[misc]
    """Bytes in, bytes out: entries are serialised by :mod:`resolvers.cache.entries`."""

    DEFAULT_ENCODING = None

    def dumps(self, value: bytes) -> bytes:
        return value

    def loads(self, value: bytes | None) -> bytes | None:
        return value


#: RSS per byte of Python objects that ``tracemalloc`` counts, once entries churn (evictions
#: leave the allocator's pools and arenas part full): 1.11 to 1.18 in the fill runs of
#: ``python -m bench.memory`` at 16 to 128 MiB. Both constants below include it, so the
#: process stays within ``max_bytes`` plus a few MiB.
ALLOCATOR_SLACK = 1.15
#: What one memory entry costs beyond its key's and its value's bytes: the key's ``str``
#: header, the value object, and the LRU and expiry bookkeeping (three dict slots, a heap
#: slot and a timer item): 350 bytes traced by ``python -m bench.memory``.
ENTRY_OVERHEAD_BYTES = round(350 * ALLOCATOR_SLACK)
#: Decoded records are kept instead of their JSON (see :meth:`MemoryStore.set_decoded`);
#: they take 3.64 bytes of Python objects per byte of their JSON, traced by
#: ``python -m bench.memory`` on the canonical query's users, courses and progressions.
DECODED_BYTES_PER_JSON_BYTE = 3.64 * ALLOCATOR_SLACK


@dataclass(frozen=True, slots=True)
class _Held:
    """A memory entry: raw bytes, or a decoded value; ``size`` is what it is accounted."""

    value: Any
    decoded: bool
    ttl: float | None
    size: int


def _expires(_key: str, held: _Held, now: float) -> float:
    return now + held.ttl if held.ttl is not None else math.inf


def _size(held: _Held) -> int:
    return held.size


def _one(_held: _Held) -> int:
    return 1


class BoundedMemoryCache(TLRUCache[str, _Held]):
    """``cachetools``' time-aware LRU cache of :class:`_Held` entries, bounded by their
    accounted bytes (or, with ``count_entries``, by their number).

    Each entry expires with its own TTL; beyond the bound, the least recently used
    entries go first (a read or a write makes a key the newest).
    """

    def __init__(
        self,
        capacity: int,
        *,
        count_entries: bool = False,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        if capacity < 1:
            raise ValueError("a memory cache needs room for at least one entry")
        super().__init__(capacity, _expires, timer, getsizeof=_one if count_entries else _size)

    def live_keys(self) -> list[str]:
        """Keys that have not expired, in the order they were first written."""
        return list(self)

    def put(self, key: str, held: _Held) -> None:
        """Store ``held``; one larger than the whole cache is not kept."""
        try:
            self[key] = held
        except ValueError:  # cachetools: "value too large"
            self.pop(key, None)


class MemoryStore:
    """Entries inside this process, bounded by ``max_bytes`` (the sum of every entry's key,
    value and :data:`ENTRY_OVERHEAD_BYTES`) or by ``max_entries``, LRU eviction.

    Bytes are kept as they are; :meth:`set_decoded` keeps a decoded value in place of its
    bytes (accounted at :data:`DECODED_BYTES_PER_JSON_BYTE` per byte), so a hit skips
    decoding. Nothing here can fail, so reads and writes never raise.
    """

    description = "memory"

    def __init__(
        self,
        *,
        max_bytes: int | None = None,
        max_entries: int | None = None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        if (max_bytes is None) == (max_entries is None):
            raise ValueError("give a memory store max_bytes or max_entries")
        by_count = max_entries is not None
        capacity = max_entries if max_entries is not None else max_bytes
        assert capacity is not None  # noqa: S101 - one of the two, checked above
        self.backend = BoundedMemoryCache(capacity, count_entries=by_count, timer=timer)

    @property
    def bytes_held(self) -> int:
        """The accounted bytes of every entry held (their number, when counting entries)."""
        return int(self.backend.currsize)

    async def get_many(self, keys: Sequence[str]) -> list[bytes | None]:
        found = [self.backend.get(key) for key in keys]
        return [h.value if h is not None and not h.decoded else None for h in found]

    async def set_many(self, items: Sequence[tuple[str, bytes]], ttl: int | None) -> None:
        if ttl is not None and ttl <= 0:
            return
        for key, raw in items:
            size = len(key) + len(raw) + ENTRY_OVERHEAD_BYTES
            self.backend.put(key, _Held(raw, False, ttl, size))

    async def get_decoded(self, keys: Sequence[str], decode: Decoder[T]) -> list[T | None]:
        """Each key's decoded value: kept as such, or decoded from its bytes."""
        values: list[T | None] = []
        for key in keys:
            held = self.backend.get(key)
            if held is None:
                values.append(None)
            else:
                values.append(held.value if held.decoded else decode(held.value))
        return values

    async def set_decoded(self, items: Sequence[tuple[str, bytes, Any]], ttl: int | None) -> None:
        """Keep each decoded value (immutable: every reader shares it) in place of its bytes,
        which only size it."""
        if ttl is not None and ttl <= 0:
            return
        for key, raw, value in items:
            size = len(key) + math.ceil(len(raw) * DECODED_BYTES_PER_JSON_BYTE)
            self.backend.put(key, _Held(value, True, ttl, size + ENTRY_OVERHEAD_BYTES))

    async def keys(self, prefix: str) -> list[str]:
        return [key for key in self.backend.live_keys() if key.startswith(prefix)]

    async def clear(self, prefix: str) -> int:
        doomed = await self.keys(prefix)
        for key in doomed:
            self.backend.pop(key, None)
        return len(doomed)

    async def delete_many(self, keys: Sequence[str]) -> int:
        return sum(self.backend.pop(key, None) is not None for key in keys)

    async def close(self) -> None:
        self.backend.clear()


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

    async def get_decoded(self, keys: Sequence[str], decode: Decoder[T]) -> list[T | None]:
        return [None if raw is None else decode(raw) for raw in await self.get_many(keys)]

    async def set_decoded(self, items: Sequence[tuple[str, bytes, Any]], ttl: int | None) -> None:
        await self.set_many([(key, raw) for key, raw, _ in items], ttl)


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

    async def delete_many(self, keys: Sequence[str]) -> int:
        """One DEL per batch rather than a round trip per key."""
        client = self.backend.client
        deleted = 0
        for start in range(0, len(keys), _SCAN_BATCH):
            batch = keys[start : start + _SCAN_BATCH]
            deleted += await client.delete(*batch)
        return int(deleted)

    async def close(self) -> None:
        # aiocache's close() calls redis-py's deprecated close(); aclose() is its successor.
        await self.backend.client.aclose()


def create_store(
    backend: str, url: str | None = None, *, max_bytes: int = 256 * 2**20, timeout: float = 1.0
) -> CacheStore:
    """The store ``[cache] backend`` names (``memory`` or ``redis``)."""
    if backend == "memory":
        return MemoryStore(max_bytes=max_bytes)
    if backend == "redis":
        if url is None:
            raise ValueError("the redis cache backend needs a url")
        return RedisStore(url, timeout=timeout)
    raise ValueError(f"unknown cache backend {backend!r}")
