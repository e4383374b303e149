"""CachedConnector around the real Kombo connector, talking HTTP to the emulator."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pydantic import SecretStr, ValidationError

from connectors._http import RetryPolicy
from connectors.base import ListQuery
from connectors.errors import VendorRejectedRequest
from connectors.kombo import KomboConnector
from connectors.model import EntityKind
from connectors.observe import observe_calls
from connectors.sandbox import Emulator, KomboTenant
from graph.config import TracingSettings
from graph.metrics import Metrics
from graph.telemetry import RequestObserver
from graph.tracing import Tracing
from resolvers.cache import (
    CachedConnector,
    CacheKeys,
    CachePolicy,
    Freshness,
    MemoryStore,
    StaleNotice,
    collect_freshness,
    collect_stale_notices,
    create_store,
)
from tests.cache.helpers import FakeClock, RedisServer
from tests.faults.helpers import until

POLICY = CachePolicy(ttl_seconds=60, negative_ttl_seconds=10, stale_if_error_seconds=120)
USERS = "/lms/users"


def kombo(emulator: Emulator, tenant: KomboTenant, name: str = "acme") -> KomboConnector:
    return KomboConnector(
        name=name,
        base_url=emulator.kombo_base_url,
        api_key=SecretStr(tenant.api_key),
        integration_id=tenant.integration_id,
        retry=RetryPolicy(max_attempts=1),
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore(max_entries=10_000)


@pytest.fixture
async def cached(
    emulator: Emulator, acme: KomboTenant, store: MemoryStore, clock: FakeClock
) -> AsyncIterator[CachedConnector]:
    connector = CachedConnector(kombo(emulator, acme), store, POLICY, clock=clock)
    await connector.open()
    emulator.clear_requests()
    yield connector
    await connector.close()


def asked_ids(emulator: Emulator, path: str = USERS) -> list[set[str]]:
    return [set(r.query["ids"].split(",")) for r in emulator.requests if r.path == path]


async def test_only_misses_reach_the_vendor_and_unknown_ids_are_remembered(
    cached: CachedConnector, emulator: Emulator, acme: KomboTenant, clock: FakeClock
) -> None:
    a, b, c = (user.id for user in acme.world.users[:3])
    assert set(await cached.fetch_users([a, b])) == {a, b}
    found = await cached.fetch_users([a, b, c, "no-such-user"])
    assert set(found) == {a, b, c}
    assert found[c].email == acme.world.users[2].email
    assert asked_ids(emulator) == [{a, b}, {c, "no-such-user"}]
    assert await cached.fetch_users(["no-such-user"]) == {}
    assert len(asked_ids(emulator)) == 2  # the negative entry answered
    clock.advance(POLICY.negative_ttl_seconds)
    await cached.fetch_users(["no-such-user", a])
    assert asked_ids(emulator)[2:] == [{"no-such-user"}]  # a is still fresh
    assert (cached.stats.hits, cached.stats.misses) == (4, 5)


async def test_a_miss_does_not_hide_the_entries_after_it(
    cached: CachedConnector, emulator: Emulator, acme: KomboTenant
) -> None:
    a, b, c = (user.id for user in acme.world.users[:3])
    await cached.fetch_users([b, c])
    assert set(await cached.fetch_users([a, b, c])) == {a, b, c}
    assert asked_ids(emulator) == [{b, c}, {a}]


async def test_entries_leave_the_store_when_their_stale_window_ends(
    emulator: Emulator, acme: KomboTenant, store: MemoryStore
) -> None:
    """The store's own TTL (fresh plus stale window) frees the memory: real seconds."""
    policy = CachePolicy(ttl_seconds=1, stale_if_error_seconds=0)
    cached = CachedConnector(kombo(emulator, acme), store, policy)
    await cached.open()
    try:
        await cached.list_users(ListQuery(), None, 3)
        assert await store.keys("")

        async def emptied() -> bool:
            return not await store.keys("")

        await until(emptied)
    finally:
        await cached.close()


async def test_records_on_list_pages_and_in_groups_are_cached_as_entities(
    cached: CachedConnector, emulator: Emulator, clock: FakeClock
) -> None:
    page = await cached.list_users(ListQuery(), None, 10)
    assert await cached.list_users(ListQuery(), None, 10) == page
    assert await cached.fetch_users([user.id for user in page.items]) == {
        user.id: user for user in page.items
    }
    assert emulator.count(path=USERS) == 1
    groups = await cached.fetch_progressions_of_users([user.id for user in page.items])
    progressions = [p for group in groups.values() for p in group]
    assert progressions
    assert await cached.fetch_progressions([p.id for p in progressions]) == {
        p.id: p for p in progressions
    }
    assert await cached.fetch_progressions_of_users([page.items[0].id]) == {
        page.items[0].id: groups[page.items[0].id]
    }
    assert emulator.count(path="/lms/course-progressions") == 1
    clock.advance(POLICY.list_ttl)
    await cached.list_users(ListQuery(), None, 10)
    assert emulator.count(path=USERS) == 2  # lists expire sooner than their records


async def test_concurrent_look_ups_share_the_ids_in_flight(
    cached: CachedConnector, emulator: Emulator, acme: KomboTenant
) -> None:
    a, b, c = (user.id for user in acme.world.users[:3])
    emulator.latency_seconds = 0.1
    first, second, third = await asyncio.gather(
        cached.fetch_users([a, b]), cached.fetch_users([b, c]), cached.fetch_users([a, c])
    )
    assert set(first) == {a, b}
    assert set(second) == {b, c}
    assert set(third) == {a, c}
    assert asked_ids(emulator) == [{a, b}, {c}]


async def test_a_cancelled_caller_does_not_cancel_the_call_for_the_others(
    cached: CachedConnector, emulator: Emulator, acme: KomboTenant
) -> None:
    a = acme.world.users[0].id
    emulator.latency_seconds = 0.2
    leavers = [asyncio.create_task(cached.fetch_users([a])) for _ in range(2)]
    stayer = asyncio.create_task(cached.fetch_users([a]))

    async def asked() -> bool:
        return bool(emulator.in_flight)

    await until(asked)  # all three wait on the one call
    for leaver in leavers:  # one by one: the call is still wanted after each
        leaver.cancel()
        await asyncio.gather(leaver, return_exceptions=True)
        assert leaver.cancelled()
    assert set(await stayer) == {a}
    assert asked_ids(emulator) == [{a}]


async def test_closing_cancels_the_calls_in_flight_without_waiting_for_them(
    emulator: Emulator, acme: KomboTenant, store: MemoryStore
) -> None:
    connector = CachedConnector(kombo(emulator, acme), store, POLICY)
    await connector.open()
    emulator.latency_seconds = 1.0  # far longer than closing may take

    async def asked() -> bool:
        return bool(emulator.in_flight)

    caller = asyncio.create_task(connector.fetch_users([acme.world.users[0].id]))
    await until(asked)
    started = time.monotonic()
    await connector.close()
    assert time.monotonic() - started < emulator.latency_seconds
    with contextlib.suppress(asyncio.CancelledError):
        await caller
    assert caller.cancelled()


async def test_a_failure_reaches_every_caller_of_the_shared_call(
    cached: CachedConnector, emulator: Emulator
) -> None:
    emulator.inject_fault("kombo", USERS, status=400, delay_seconds=0.1)
    results = await asyncio.gather(
        *(cached.list_users(ListQuery(), None, 5) for _ in range(5)), return_exceptions=True
    )
    assert all(isinstance(result, VendorRejectedRequest) for result in results)
    assert emulator.count(path=USERS) == 1
    page = await cached.list_users(ListQuery(), None, 5)
    assert len(page.items) == 5  # the failure was not cached


async def test_an_expired_entry_stands_in_for_a_failing_source_within_the_window(
    cached: CachedConnector, emulator: Emulator, acme: KomboTenant, clock: FakeClock
) -> None:
    a = acme.world.users[0].id
    stored_at = clock.now
    fresh = await cached.fetch_users([a])
    notices: list[StaleNotice] = []
    collect_stale_notices(notices)
    freshness = Freshness()
    collect_freshness(freshness)
    clock.advance(POLICY.ttl_seconds + 30)
    emulator.inject_fault("kombo", USERS, status=400)
    assert await cached.fetch_users([a]) == fresh
    assert notices == [StaleNotice("acme", POLICY.ttl_seconds + 30, "SOURCE_REJECTED_REQUEST")]
    assert freshness.oldest == {"acme": stored_at}  # extensions.freshness shows its age
    assert cached.stats.stale_served == 1
    clock.advance(POLICY.stale_if_error_seconds)  # now past the window
    emulator.inject_fault("kombo", USERS, status=400)
    with pytest.raises(VendorRejectedRequest):
        await cached.fetch_users([a])
    assert len(notices) == 1


async def test_a_clock_stepped_back_never_makes_a_stale_age_negative(
    cached: CachedConnector, emulator: Emulator, acme: KomboTenant, clock: FakeClock
) -> None:
    """Wall time, shared through Redis, can step back (NTP) while the vendor call fails:
    the notice then says 0 seconds, not a negative age."""
    a = acme.world.users[0].id
    fresh = await cached.fetch_users([a])
    notices: list[StaleNotice] = []
    collect_stale_notices(notices)
    clock.advance(POLICY.ttl_seconds + 30)
    emulator.inject_fault("kombo", USERS, status=400, delay_seconds=0.2)
    caller = asyncio.create_task(cached.fetch_users([a]))

    async def asked() -> bool:
        return bool(emulator.in_flight)

    await until(asked)  # the entry was read as stale; now the clock steps back an hour
    clock.advance(-3600)
    assert await caller == fresh
    assert notices == [StaleNotice("acme", 0.0, "SOURCE_REJECTED_REQUEST")]


async def test_the_store_keeps_records_through_the_stale_window_and_unknown_ids_while_fresh(
    emulator: Emulator, acme: KomboTenant, clock: FakeClock
) -> None:
    """The store's own TTL: a record stays for its freshness plus the stale window, so it
    can stand in for a failing source until the window ends; "no such ID" is never served
    stale, so it leaves as soon as it stops being fresh instead of holding memory."""
    store = MemoryStore(max_entries=100, timer=clock)  # the store's seconds move with ours
    cached = CachedConnector(kombo(emulator, acme), store, POLICY, clock=clock)
    await cached.open()
    a = acme.world.users[0].id
    record, ghost = (cached.keys.entity(EntityKind.USERS, i) for i in (a, "ghost"))
    stored_at = clock.now
    fresh = await cached.fetch_users([a, "ghost"])
    clock.now = stored_at + POLICY.negative_ttl_seconds - 0.5
    assert set(await store.keys("")) == {record, ghost}
    clock.now = stored_at + POLICY.negative_ttl_seconds
    assert await store.keys("") == [record]
    clock.now = stored_at + POLICY.ttl_seconds + POLICY.stale_if_error_seconds - 0.5
    emulator.inject_fault("kombo", USERS, status=400)
    assert await cached.fetch_users([a]) == fresh  # the last half second of the window
    clock.now += 0.5
    assert await store.keys("") == []
    await cached.close()


async def test_an_unknown_id_is_never_served_stale(
    cached: CachedConnector, emulator: Emulator, clock: FakeClock
) -> None:
    assert await cached.fetch_users(["ghost"]) == {}
    clock.advance(POLICY.negative_ttl_seconds + 1)
    emulator.inject_fault("kombo", USERS, status=400)
    with pytest.raises(VendorRejectedRequest):
        await cached.fetch_users(["ghost"])


async def test_a_corrupt_entry_is_fetched_again_with_one_warning(
    cached: CachedConnector,
    emulator: Emulator,
    acme: KomboTenant,
    store: MemoryStore,
    caplog: pytest.LogCaptureFixture,
) -> None:
    users = acme.world.users[:3]
    bad = [users[0], users[2]]  # around a good entry, which is still a hit
    await cached.fetch_users([users[1].id])
    garbage = [(cached.keys.entity(EntityKind.USERS, u.id), b'{"stored_at": 1') for u in bad]
    await store.set_many(garbage, ttl=60)
    caplog.set_level(logging.WARNING, "lms_graph.cache")
    found = await cached.fetch_users([u.id for u in users])
    assert {u.id: u.first_name for u in found.values()} == {u.id: u.first_name for u in users}
    assert asked_ids(emulator) == [{users[1].id}, {u.id for u in bad}]
    (warning,) = caplog.records
    assert warning.getMessage() == (
        "source 'acme': cache entries that cannot be read are fetched again"
        f" (first: {garbage[0][0]})"
    )
    await cached.fetch_users([u.id for u in users])
    assert len(asked_ids(emulator)) == 2  # the rewritten entries are good


async def test_sources_with_colliding_ids_never_share_entries(
    emulator: Emulator, acme: KomboTenant, globex: KomboTenant, store: MemoryStore
) -> None:
    a = acme.world.users[0].id
    assert a == globex.world.users[0].id
    seen = []
    # Two sources, and one source re-pointed at another tenant: each reads its own data.
    for name, tenant in [("acme", acme), ("globex", globex), ("acme", globex), ("acme", acme)]:
        connector = CachedConnector(kombo(emulator, tenant, name), store, POLICY)
        await connector.open()
        seen.append((await connector.fetch_users([a]))[a].first_name)
        await connector.close()
    first = acme.world.users[0].first_name
    assert seen == [first, "Globex-" + first, "Globex-" + first, first]
    assert len(asked_ids(emulator)) == 3  # the last one was a hit of acme's own entry


@pytest.mark.parametrize(
    ("past_expiry", "served"),
    [
        (1, True),
        (POLICY.stale_if_error_seconds - 1, True),
        (POLICY.stale_if_error_seconds - 0.01, True),
        (POLICY.stale_if_error_seconds, False),
    ],
)
async def test_the_stale_window_starts_at_expiry_and_ends_exactly_after_it(
    cached: CachedConnector,
    emulator: Emulator,
    acme: KomboTenant,
    clock: FakeClock,
    past_expiry: float,
    served: bool,
) -> None:
    """The window is counted from expiry, not from storage: with a TTL of 60 s and a
    window of 120 s, an entry stored at 0 stands in until (not at) 180 s."""
    a = acme.world.users[0].id
    fresh = await cached.fetch_users([a])
    notices: list[StaleNotice] = []
    collect_stale_notices(notices)
    clock.advance(POLICY.ttl_seconds + past_expiry)
    emulator.inject_fault("kombo", USERS, status=400)
    if served:
        assert await cached.fetch_users([a]) == fresh
        (notice,) = notices
        assert notice.age_seconds == pytest.approx(POLICY.ttl_seconds + past_expiry)
    else:
        with pytest.raises(VendorRejectedRequest):
            await cached.fetch_users([a])
        assert notices == []


async def test_emails_are_hashed_in_the_memory_stores_keys(
    cached: CachedConnector, acme: KomboTenant, store: MemoryStore
) -> None:
    """The same promise as the Redis test, where no redis-server runs."""
    user = acme.world.users[0]
    shouted = user.email.upper()
    found = await cached.fetch_users_by_email([user.email, shouted, "nobody@example.com"])
    assert [u.id for u in found[user.email]] == [user.id]
    keys = store.backend.live_keys()
    groups = [key for key in keys if ":group:users_by_email:" in key]
    assert len(groups) == 3
    assert cached.keys.group("users_by_email", user.email, hashed=True) in groups
    for key in keys:
        for personal in (user.email, shouted, "nobody@example.com", "nobody", "example.com"):
            assert personal.lower() not in key.lower()


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        (EntityKind.USERS, USERS),
        (EntityKind.COURSES, "/lms/courses"),
        (EntityKind.SKILLS, "/lms/skills"),
        (EntityKind.PROGRESSIONS, "/lms/course-progressions"),
    ],
)
async def test_every_kind_is_paged_by_its_token_and_its_records_looked_up_by_id(
    emulator: Emulator,
    acme: KomboTenant,
    store: MemoryStore,
    clock: FakeClock,
    kind: EntityKind,
    path: str,
) -> None:
    cached = CachedConnector(kombo(emulator, acme), store, POLICY, clock=clock)
    await cached.open()
    lister = getattr(cached, f"list_{kind.value}")
    first = await lister(ListQuery(), None, 2)
    assert first.next_token is not None
    second = await lister(ListQuery(), first.next_token, 2)
    assert {r.id for r in first.items}.isdisjoint(r.id for r in second.items)
    assert await lister(ListQuery(), first.next_token, 2) == second  # a hit
    assert emulator.count(path=path) == 2
    assert len((await lister(ListQuery(), None, 3)).items) == 3  # another size, another page
    emulator.clear_requests()
    # A cold connector on another store asks the vendor for the records by ID.
    cold = CachedConnector(kombo(emulator, acme), MemoryStore(max_entries=100), POLICY)
    await cold.open()
    fetch = getattr(cold, f"fetch_{kind.value}")
    records = {r.id: r for r in second.items}
    assert await fetch(list(records)) == records
    assert emulator.count(path=path) == 1
    assert await fetch(list(records)) == records
    assert emulator.count(path=path) == 1
    await cold.close()
    await cached.close()


async def test_progressions_of_courses_are_grouped_and_cached(
    cached: CachedConnector, emulator: Emulator, acme: KomboTenant
) -> None:
    course_ids = [course.id for course in acme.world.courses[:3]]
    direct = await cached.inner.fetch_progressions_of_courses(course_ids)
    emulator.clear_requests()
    groups = await cached.fetch_progressions_of_courses(course_ids)
    assert {k: list(v) for k, v in groups.items()} == {k: list(v) for k, v in direct.items()}
    assert any(groups.values())
    assert await cached.fetch_progressions_of_courses(course_ids) == groups
    assert emulator.count(path="/lms/course-progressions") == 1


async def test_group_keys_name_their_grouping_and_the_plain_id(
    cached: CachedConnector, acme: KomboTenant, store: MemoryStore
) -> None:
    """The layout resolvers/cache/keys.py documents, which every process sharing a Redis
    must agree on: only emails are hashed."""
    user_id, course_id = acme.world.users[0].id, acme.world.courses[0].id
    await cached.fetch_progressions_of_users([user_id])
    await cached.fetch_progressions_of_courses([course_id])
    groups = {key for key in store.backend.live_keys() if ":group:" in key}
    assert groups == {
        f"{cached.keys.prefix}group:progressions_of_user:{user_id}",
        f"{cached.keys.prefix}group:progressions_of_course:{course_id}",
    }


async def test_a_user_without_progressions_gets_an_empty_cached_group(
    cached: CachedConnector, emulator: Emulator
) -> None:
    assert await cached.fetch_progressions_of_users(["no-such-user"]) == {"no-such-user": ()}
    assert await cached.fetch_progressions_of_users(["no-such-user"]) == {"no-such-user": ()}
    assert emulator.count(path="/lms/course-progressions") == 1


async def test_a_list_ttl_of_zero_never_reads_or_serves_groups_from_the_store(
    emulator: Emulator, acme: KomboTenant, store: MemoryStore
) -> None:
    user_id = acme.world.users[0].id
    warm = CachedConnector(kombo(emulator, acme), store, POLICY)
    uncached = CachedConnector(
        kombo(emulator, acme), store, CachePolicy(ttl_seconds=60, list_ttl_seconds=0)
    )
    for connector in (warm, uncached):
        await connector.open()
    groups = await warm.fetch_progressions_of_users([user_id])
    assert await uncached.fetch_progressions_of_users([user_id]) == groups
    assert emulator.count(path="/lms/course-progressions") == 2
    assert (uncached.stats.hits, uncached.stats.misses) == (0, 1)
    # Not cached means not served stale either, though warm's entry is in the window.
    emulator.inject_fault("kombo", "/lms/course-progressions", status=400)
    with pytest.raises(VendorRejectedRequest):
        await uncached.fetch_progressions_of_users([user_id])
    for connector in (warm, uncached):
        await connector.close()


async def test_a_list_ttl_of_zero_never_reads_or_serves_pages_from_the_store(
    emulator: Emulator, acme: KomboTenant, store: MemoryStore
) -> None:
    warm = CachedConnector(kombo(emulator, acme), store, POLICY)
    uncached = CachedConnector(
        kombo(emulator, acme), store, CachePolicy(ttl_seconds=60, list_ttl_seconds=0)
    )
    for connector in (warm, uncached):
        await connector.open()
    page = await warm.list_users(ListQuery(), None, 5)
    assert await uncached.list_users(ListQuery(), None, 5) == page
    assert emulator.count(path=USERS) == 2
    assert (uncached.stats.hits, uncached.stats.misses) == (0, 1)
    # Not cached means not served stale either, though warm's entry is in the window.
    emulator.inject_fault("kombo", USERS, status=400)
    with pytest.raises(VendorRejectedRequest):
        await uncached.list_users(ListQuery(), None, 5)
    for connector in (warm, uncached):
        await connector.close()


async def test_a_ttl_of_one_second_still_caches_every_shape(
    emulator: Emulator, acme: KomboTenant, store: MemoryStore, clock: FakeClock
) -> None:
    policy = CachePolicy(
        ttl_seconds=1, list_ttl_seconds=1, negative_ttl_seconds=1, stale_if_error_seconds=0
    )
    cached = CachedConnector(kombo(emulator, acme), store, policy, clock=clock)
    await cached.open()
    user_id = acme.world.users[0].id
    for _ in range(2):
        await cached.fetch_users([user_id, "ghost"])
        await cached.list_users(ListQuery(), None, 3)
        await cached.fetch_progressions_of_users([user_id])
    assert (cached.stats.hits, cached.stats.misses) == (4, 4)
    # The negative entry leaves the store with its TTL, like every other entry.
    held = store.backend.get(cached.keys.entity(EntityKind.USERS, "ghost"))
    assert held is not None
    assert held.ttl == 1
    clock.advance(1)
    await cached.fetch_progressions_of_users([user_id])
    assert cached.stats.misses == 5
    await cached.close()


async def test_an_entity_ttl_of_zero_neither_stores_reads_nor_serves_that_kind(
    emulator: Emulator, acme: KomboTenant, store: MemoryStore
) -> None:
    user_id = acme.world.users[0].id
    policy = CachePolicy(entity_ttls={EntityKind.USERS: 0})
    uncached = CachedConnector(kombo(emulator, acme), store, policy)
    await uncached.open()
    assert set(await uncached.fetch_users([user_id, "ghost"])) == {user_id}
    assert store.backend.live_keys() == []  # no record, and no negative entry either
    warm = CachedConnector(kombo(emulator, acme), store, POLICY)
    await warm.open()
    await warm.fetch_users([user_id])
    await uncached.fetch_users([user_id])
    assert (uncached.stats.hits, uncached.stats.misses) == (0, 3)
    emulator.inject_fault("kombo", USERS, status=400)
    with pytest.raises(VendorRejectedRequest):
        await uncached.fetch_users([user_id])
    for connector in (warm, uncached):
        await connector.close()


async def test_a_request_is_told_its_oldest_data_and_first_expiry_per_source(
    cached: CachedConnector, acme: KomboTenant, clock: FakeClock
) -> None:
    """extensions.freshness shows the age of a source's oldest data, and a response lives
    until the first entry it was built from expires, whatever order they are read in."""
    a, b = (user.id for user in acme.world.users[:2])
    stored_at = clock.now
    await cached.fetch_users([a])
    clock.advance(10)
    await cached.fetch_users([b])
    clock.advance(10)
    for order in ([a, b], [b, a]):
        freshness = Freshness()
        collect_freshness(freshness)
        assert set(await cached.fetch_users(order)) == {a, b}  # both hits
        assert freshness.oldest == {"acme": stored_at}
        assert freshness.storable_until() == stored_at + POLICY.ttl_seconds


@pytest.mark.parametrize("read", ["health", "record", "unknown id"])
async def test_reads_past_the_cache_are_reported_live_under_the_sources_name(
    emulator: Emulator, acme: KomboTenant, store: MemoryStore, clock: FakeClock, read: str
) -> None:
    """A health check, and a kind whose TTL is 0, ask the vendor now: the request learns
    that this source's data is 0 s old (extensions.freshness) and fresh this instant only
    (its response is not stored)."""
    policy = CachePolicy(entity_ttls={EntityKind.USERS: 0})
    uncached = CachedConnector(kombo(emulator, acme), store, policy, clock=clock)
    await uncached.open()
    freshness = Freshness()
    collect_freshness(freshness)
    if read == "health":
        await uncached.check_health()
    else:
        await uncached.fetch_users([acme.world.users[0].id if read == "record" else "ghost"])
    assert freshness.oldest == {"acme": clock.now}
    assert freshness.storable_until() == clock.now
    await uncached.close()


async def test_operators_see_hits_and_misses_by_kind_and_why_each_vendor_call_was_made(
    emulator: Emulator, acme: KomboTenant, store: MemoryStore
) -> None:
    """Metrics count each look-up's hits and misses by kind; each vendor call's span says
    whether the cache missed (``miss``) or caching of that kind is off (``bypass``)."""
    metrics = Metrics()
    spans = InMemorySpanExporter()
    tracing = Tracing(TracingSettings(), spans)
    observe_calls(RequestObserver(metrics, tracing))
    policy = CachePolicy(ttl_seconds=60, entity_ttls={EntityKind.COURSES: 0})
    cached = CachedConnector(kombo(emulator, acme), store, policy)
    await cached.open()
    a, b = (user.id for user in acme.world.users[:2])
    await cached.fetch_users([a])
    await cached.fetch_users([a, b])
    await cached.list_users(ListQuery(), None, 2)
    await cached.fetch_progressions_of_users([a, b])
    await cached.fetch_courses([acme.world.courses[0].id])  # not cached: not counted
    await cached.close()
    tracing.shutdown()

    def count(kind: str) -> tuple[float | None, float | None]:
        value, labels = metrics.registry.get_sample_value, {"kind": kind}
        hits, misses = "lms_graph_cache_hits_total", "lms_graph_cache_misses_total"
        return value(hits, labels), value(misses, labels)

    assert count("users") == (1, 2)
    assert count("users_list") == (None, 1)
    assert count("progressions_of_user") == (None, 2)
    assert count("courses") == (None, None)
    calls = [(s.attributes or {}).get("lms_graph.cache") for s in spans.get_finished_spans()]
    assert calls == ["miss", "miss", "miss", "miss", "bypass"]


def test_the_cached_connector_shows_its_inner_connectors_identity(
    emulator: Emulator, acme: KomboTenant, store: MemoryStore
) -> None:
    inner = kombo(emulator, acme)
    cached = CachedConnector(inner, store, POLICY)
    assert (cached.name, cached.kind, cached.tenant) == (inner.name, inner.kind, inner.tenant)
    assert cached.capabilities == inner.capabilities
    assert cached.breaker is inner.breaker
    assert cached.keys == CacheKeys(inner.name, inner.kind, inner.tenant)


async def test_a_memory_hit_is_the_stored_record_itself_which_nobody_can_change(
    cached: CachedConnector, emulator: Emulator, acme: KomboTenant
) -> None:
    user = acme.world.users[0]
    (first,) = (await cached.fetch_users([user.id])).values()
    (second,) = (await cached.fetch_users([user.id])).values()
    (grouped,) = (await cached.fetch_progressions_of_users([user.id])).values()
    (again,) = (await cached.fetch_progressions_of_users([user.id])).values()
    assert len(asked_ids(emulator)) == 1
    # Kept decoded: the same object comes back, never decoded from JSON again.
    assert second is first
    assert again is grouped
    assert all(a is b for a, b in zip(again, grouped, strict=True))
    # Records are frozen (nested lists are tuples), so a reader cannot change the cached one.
    with pytest.raises(ValidationError, match="frozen"):
        first.email = "changed@example.com"  # type: ignore[misc]
    assert isinstance(again, tuple)


async def test_redis_hits_are_decoded_copies(
    emulator: Emulator, acme: KomboTenant, redis_server: RedisServer
) -> None:
    store = create_store("redis", redis_server.url)
    cached = CachedConnector(kombo(emulator, acme), store, POLICY)
    await cached.open()
    try:
        user = acme.world.users[0]
        (first,) = (await cached.fetch_users([user.id])).values()
        (second,) = (await cached.fetch_users([user.id])).values()
        assert second == first
        assert second is not first
    finally:
        await cached.close()
        await store.close()
