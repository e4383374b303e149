"""A caching decorator around any connector, itself a :class:`~connectors.base.Connector`.

Look-ups by ID read every ID from the store and ask the vendor for the misses only;
what the vendor returns is stored, and IDs it did not return get a short negative
entry. List pages and grouped look-ups (a user's progressions …) are stored by their
normalised parameters with the list TTL, and every record in them is stored as an
entity too. Concurrent identical vendor calls are shared (:mod:`.flight`).

An entry past its freshness is a miss; when the vendor call for it then fails with a
:class:`~connectors.errors.ConnectorError` and the entry expired less than
``stale_if_error_seconds`` ago, it is served anyway and a :class:`.StaleNotice` is
reported. The store failing is never an error: it is a miss (see :mod:`.stores`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

from connectors.base import Connector, ListQuery, Page
from connectors.errors import ConnectorError
from connectors.model import Course, EntityKind, Progression, Record, Skill, User
from connectors.observe import record_cache, serving_cache_miss
from resolvers.cache.entries import (
    ENTITY_CODECS,
    GROUP_CODECS,
    PAGE_CODECS,
    Codec,
    Entry,
    StoredPage,
)
from resolvers.cache.flight import SingleFlight
from resolvers.cache.freshness import report_live, report_used
from resolvers.cache.keys import CacheKeys
from resolvers.cache.notices import CacheStats, StaleNotice, report_stale
from resolvers.cache.policy import CachePolicy
from resolvers.cache.stores import CacheStore

__all__ = ["CachedConnector", "Clock"]

logger = logging.getLogger("lms_graph.cache")


class _Corrupt:
    """Stored bytes that are not an entry of the codec read."""


CORRUPT = _Corrupt()
Read = Entry[Any] | _Corrupt

#: Seconds since the epoch. Wall time, not monotonic: entries in Redis are shared
#: between processes and outlive them.
Clock = Callable[[], float]

V = TypeVar("V")
R = TypeVar("R", bound=Record)

Lister = Callable[[ListQuery, str | None, int], Awaitable[Page[R]]]


class CachedConnector:
    """``inner`` behind the cache; satisfies the same Protocol.

    Args:
        inner: The connector whose calls are cached (opened and closed through this one).
        store: Where entries live; shared by every source.
        policy: TTLs and the stale-if-error window.
        clock: Current time in seconds since the epoch; tests move it instead of sleeping.

    Attributes:
        stats: Hits, misses and stale answers of this source since start.
    """

    def __init__(
        self,
        inner: Connector,
        store: CacheStore,
        policy: CachePolicy,
        *,
        clock: Clock = time.time,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.kind = inner.kind
        self.tenant = inner.tenant
        self.capabilities = inner.capabilities
        self.breaker = inner.breaker
        self.keys = CacheKeys(inner.name, inner.kind, inner.tenant)
        self.stats = CacheStats()
        self._store = store
        self._policy = policy
        self._clock = clock
        self._flights = SingleFlight[Any]()
        self._warned_corrupt = False

    def __repr__(self) -> str:
        return f"CachedConnector({self.inner!r})"

    async def open(self) -> None:
        await self.inner.open()

    async def close(self) -> None:
        await self._flights.close()
        await self.inner.close()

    async def check_health(self) -> None:
        """Always live: a health check answered from the cache would say nothing."""
        report_live(self.name, self._clock())
        await self.inner.check_health()

    # -- lists -------------------------------------------------------------------------

    async def list_users(self, query: ListQuery, token: str | None, size: int) -> Page[User]:
        return await self._page(EntityKind.USERS, self.inner.list_users, query, token, size)

    async def list_courses(self, query: ListQuery, token: str | None, size: int) -> Page[Course]:
        return await self._page(EntityKind.COURSES, self.inner.list_courses, query, token, size)

    async def list_skills(self, query: ListQuery, token: str | None, size: int) -> Page[Skill]:
        return await self._page(EntityKind.SKILLS, self.inner.list_skills, query, token, size)

    async def list_progressions(
        self, query: ListQuery, token: str | None, size: int
    ) -> Page[Progression]:
        lister = self.inner.list_progressions
        return await self._page(EntityKind.PROGRESSIONS, lister, query, token, size)

    # -- look-ups by ID ----------------------------------------------------------------

    async def fetch_users(self, ids: Sequence[str]) -> Mapping[str, User]:
        return await self._entities(EntityKind.USERS, self.inner.fetch_users, ids)

    async def fetch_courses(self, ids: Sequence[str]) -> Mapping[str, Course]:
        return await self._entities(EntityKind.COURSES, self.inner.fetch_courses, ids)

    async def fetch_skills(self, ids: Sequence[str]) -> Mapping[str, Skill]:
        return await self._entities(EntityKind.SKILLS, self.inner.fetch_skills, ids)

    async def fetch_progressions(self, ids: Sequence[str]) -> Mapping[str, Progression]:
        fetch = self.inner.fetch_progressions
        return await self._entities(EntityKind.PROGRESSIONS, fetch, ids)

    # -- grouped look-ups --------------------------------------------------------------

    async def fetch_users_by_email(self, emails: Sequence[str]) -> Mapping[str, Sequence[User]]:
        fetch = self.inner.fetch_users_by_email
        return await self._groups("users_by_email", EntityKind.USERS, fetch, emails, hashed=True)

    async def fetch_progressions_of_users(
        self, user_ids: Sequence[str]
    ) -> Mapping[str, Sequence[Progression]]:
        fetch = self.inner.fetch_progressions_of_users
        return await self._groups("progressions_of_user", EntityKind.PROGRESSIONS, fetch, user_ids)

    async def fetch_progressions_of_courses(
        self, course_ids: Sequence[str]
    ) -> Mapping[str, Sequence[Progression]]:
        fetch = self.inner.fetch_progressions_of_courses
        group = "progressions_of_course"
        return await self._groups(group, EntityKind.PROGRESSIONS, fetch, course_ids)

    # -- the three shapes --------------------------------------------------------------

    async def _entities(
        self,
        kind: EntityKind,
        fetch: Callable[[Sequence[str]], Awaitable[Mapping[str, R]]],
        ids: Sequence[str],
    ) -> dict[str, R]:
        key_of = {record_id: self.keys.entity(kind, record_id) for record_id in dict.fromkeys(ids)}
        id_of = {key: record_id for record_id, key in key_of.items()}
        codec = ENTITY_CODECS[kind]
        ttl = self._policy.entity_ttl(kind)

        def fresh_for(value: Record | None) -> int:
            return ttl if value is not None else self._policy.negative_ttl_seconds

        async def call(keys: list[str]) -> dict[str, R | None]:
            found = await fetch([id_of[key] for key in keys])
            await self._store_entities(kind, found.values())
            absent = [key for key in keys if id_of[key] not in found]
            negative = self._policy.negative_ttl_seconds if ttl > 0 else 0
            if absent and negative > 0:
                unknown: list[tuple[str, Record | None]] = [(key, None) for key in absent]
                await self._put(codec, unknown, negative, storage=False)
            elif absent:
                report_live(self.name, self._clock())  # "not found", remembered nowhere
            return {key: found.get(id_of[key]) for key in keys}

        values = await self._lookup(kind, list(id_of), codec, fresh_for, call, cached=ttl > 0)
        return {id_of[key]: value for key, value in values.items() if value is not None}

    async def _page(
        self,
        kind: EntityKind,
        lister: Lister[R],
        query: ListQuery,
        token: str | None,
        size: int,
    ) -> Page[R]:
        key = self.keys.page(kind, query, token, size)
        codec = PAGE_CODECS[kind]
        ttl = self._policy.list_ttl

        async def call(keys: list[str]) -> dict[str, StoredPage[Record]]:
            page = await lister(query, token, size)
            stored = StoredPage[Record].of(page)
            await self._put(codec, [(key, stored)], ttl)
            await self._store_entities(kind, page.items)
            return {key: stored}

        lookup = f"{kind}_list"
        values = await self._lookup(lookup, [key], codec, lambda _: ttl, call, cached=ttl > 0)
        page: Page[R] = values[key].page()
        return page

    async def _groups(
        self,
        grouping: str,
        kind: EntityKind,
        fetch: Callable[[Sequence[str]], Awaitable[Mapping[str, Sequence[R]]]],
        group_ids: Sequence[str],
        *,
        hashed: bool = False,
    ) -> dict[str, Sequence[R]]:
        key_of = {
            group_id: self.keys.group(grouping, group_id, hashed=hashed)
            for group_id in dict.fromkeys(group_ids)
        }
        id_of = {key: group_id for group_id, key in key_of.items()}
        codec = GROUP_CODECS[kind]
        ttl = self._policy.list_ttl

        async def call(keys: list[str]) -> dict[str, Sequence[Record]]:
            found = await fetch([id_of[key] for key in keys])
            groups: dict[str, Sequence[Record]] = {
                key: tuple(found.get(id_of[key], ())) for key in keys
            }
            await self._put(codec, list(groups.items()), ttl)
            await self._store_entities(kind, [r for group in groups.values() for r in group])
            return groups

        keys = list(id_of)
        values = await self._lookup(grouping, keys, codec, lambda _: ttl, call, cached=ttl > 0)
        return {id_of[key]: value for key, value in values.items()}

    # -- shared steps ------------------------------------------------------------------

    async def _lookup(
        self,
        kind: str,
        keys: list[str],
        codec: Codec[Any],
        fresh_for: Callable[[Any], int],
        call: Callable[[list[str]], Awaitable[Mapping[str, Any]]],
        *,
        cached: bool,
    ) -> dict[str, Any]:
        """Fresh entries from the store, the rest through one shared vendor call, and
        expired entries in place of keys whose call failed, within the stale window.
        ``kind`` names the look-up in metrics (``users``, ``users_list``, a grouping)."""
        fresh: dict[str, Any] = {}
        stale: dict[str, Entry[Any]] = {}
        if cached:
            fresh, stale = await self._read(keys, codec, fresh_for)
        missing = [key for key in keys if key not in fresh]
        self.stats.hits += len(fresh)
        self.stats.misses += len(missing)
        if cached:
            record_cache(kind, hits=len(fresh), misses=len(missing))
        if missing:
            with serving_cache_miss("miss" if cached else "bypass"):
                outcomes = await self._flights.run(missing, call)
            for key, outcome in zip(missing, outcomes, strict=True):
                if isinstance(outcome, ConnectorError) and key in stale:
                    fresh[key] = self._serve_stale(stale[key], outcome)
                elif isinstance(outcome, BaseException):
                    raise outcome
                else:
                    fresh[key] = outcome
        return fresh

    async def _read(
        self, keys: list[str], codec: Codec[Any], fresh_for: Callable[[Any], int]
    ) -> tuple[dict[str, Any], dict[str, Entry[Any]]]:
        def decode(raw: bytes) -> Read:
            entry = codec.decode(raw)
            return entry if entry is not None else CORRUPT

        found = await self._store.get_decoded(keys, decode)
        now = self._clock()
        window = self._policy.stale_if_error_seconds
        fresh: dict[str, Any] = {}
        stale: dict[str, Entry[Any]] = {}
        for key, entry in zip(keys, found, strict=True):
            if isinstance(entry, _Corrupt):
                self._corrupt(key)
                continue
            if entry is None:
                continue
            age, ttl = now - entry.stored_at, fresh_for(entry.value)
            if age < ttl:
                fresh[key] = entry.value
                report_used(self.name, entry.stored_at, ttl)
            elif entry.value is not None and age < ttl + window:
                stale[key] = entry
        return fresh, stale

    def _serve_stale(self, entry: Entry[V], error: ConnectorError) -> V:
        age = max(0.0, self._clock() - entry.stored_at)
        report_used(self.name, entry.stored_at, 0)  # past its freshness: never stored
        self.stats.stale_served += 1
        report_stale(StaleNotice(self.name, age, error.code))
        return entry.value

    async def _put(
        self, codec: Codec[V], items: list[tuple[str, V]], ttl: int, *, storage: bool = True
    ) -> None:
        """Store each value, fresh for ``ttl``; kept for the stale window too unless
        ``storage`` is False (negative entries are never served stale)."""
        if not items:
            return
        stamp = self._clock()
        if ttl <= 0:
            report_live(self.name, stamp)  # a kind that is not cached: read live
            return
        report_used(self.name, stamp, ttl)
        entries = [(key, codec.entry(value, stamp)) for key, value in items]
        encoded = [(key, codec.dump(entry), entry) for key, entry in entries]
        await self._store.set_decoded(encoded, self._policy.storage_ttl(ttl) if storage else ttl)

    async def _store_entities(self, kind: EntityKind, records: Iterable[Record]) -> None:
        items: list[tuple[str, Record | None]] = [
            (self.keys.entity(kind, record.id), record) for record in records
        ]
        await self._put(ENTITY_CODECS[kind], items, self._policy.entity_ttl(kind))

    def _corrupt(self, key: str) -> None:
        if not self._warned_corrupt:
            self._warned_corrupt = True
            logger.warning(
                "source %r: cache entries that cannot be read are fetched again (first: %s)",
                self.name,
                key,
            )
