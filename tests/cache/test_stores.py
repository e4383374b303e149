"""The stores: a bounded LRU memory backend, Redis, and what a failing store does."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest
from aiocache.lock import OptimisticLock, OptimisticLockError
from redis.asyncio.connection import SSLConnection

from resolvers.cache import BoundedMemoryCache, MemoryStore, RedisStore, create_store, redacted_url
from resolvers.cache.stores import _SCAN_BATCH, RETRY_AFTER_SECONDS
from tests.cache.helpers import FakeClock, RedisServer, free_port


async def test_memory_evicts_the_least_recently_used_key() -> None:
    store = MemoryStore(max_entries=3)
    await store.set_many([("a", b"1"), ("b", b"2"), ("c", b"3")], ttl=60)
    assert await store.get_many(["a"]) == [b"1"]  # a is now the most recent
    await store.set_many([("d", b"4")], ttl=60)
    assert store.backend.lru_order() == ["c", "a", "d"]
    assert await store.get_many(["a", "b", "c", "d"]) == [b"1", None, b"3", b"4"]
    await store.set_many([("a", b"1'")], ttl=60)  # a rewrite is a use too
    await store.set_many([("e", b"5")], ttl=60)
    assert store.backend.lru_order() == ["d", "a", "e"]
    await store.close()


async def test_memory_stays_bounded_under_any_traffic() -> None:
    store = MemoryStore(max_entries=100)
    rng = random.Random(5)
    for _ in range(200):
        keys = [f"k{rng.randrange(5000)}" for _ in range(rng.randrange(1, 40))]
        if rng.random() < 0.5:
            await store.set_many([(k, b"x" * rng.randrange(1, 50)) for k in keys], ttl=60)
        else:
            await store.get_many(keys)
        assert len(store.backend) <= 100
        # Timers of evicted keys are cancelled and forgotten, not just their values.
        assert len(store.backend._handlers) <= 100
    assert len(store.backend) == 100
    await store.close()


async def test_memory_entries_expire_with_their_ttl() -> None:
    cache = BoundedMemoryCache(10)
    await cache.set("k", b"v", ttl=0.05)
    assert await cache.get("k") == b"v"
    await asyncio.sleep(0.1)
    assert await cache.get("k") is None


async def test_memory_clear_removes_only_the_prefix() -> None:
    store = MemoryStore(max_entries=10)
    await store.set_many([("p:a:1", b"1"), ("p:a:2", b"2"), ("p:ab:1", b"3")], ttl=60)
    assert await store.clear("p:a:") == 2
    assert await store.get_many(["p:a:1", "p:a:2", "p:ab:1"]) == [None, None, b"3"]


async def test_memory_keeps_entries_without_ttl_and_lists_keys_by_prefix() -> None:
    store = MemoryStore(max_entries=10)
    await store.set_many([("lms-graph:documents:a", b"1"), ("lms-graph:v1:b", b"2")], None)
    assert await store.keys("lms-graph:documents:") == ["lms-graph:documents:a"]
    assert await store.get_many(["lms-graph:documents:a"]) == [b"1"]
    assert store.backend._handlers == {}  # no expiry timer


async def test_memory_clear_by_namespace_keeps_other_keys() -> None:
    cache = BoundedMemoryCache(10)
    await cache.multi_set([("a:1", b"1"), ("a:2", b"2"), ("b:1", b"3")], ttl=60)
    assert await cache.clear(namespace="a:") is True
    assert cache.lru_order() == ["b:1"]
    assert await cache.clear() is True
    assert len(cache) == 0
    assert cache._handlers == {}


async def test_memory_honours_aiocaches_optimistic_lock() -> None:
    cache = BoundedMemoryCache(10)
    await cache.set("k", b"v1")
    async with OptimisticLock(cache, "k") as lock:
        await cache.set("k", b"someone else")
        with pytest.raises(OptimisticLockError):
            await lock.cas(b"mine")
    assert await cache.get("k") == b"someone else"


async def test_a_memory_store_needs_room_for_one_entry() -> None:
    with pytest.raises(ValueError, match=r"^max_entries must be at least 1$"):
        MemoryStore(max_entries=0)
    store = MemoryStore(max_entries=1)
    await store.set_many([("a", b"1"), ("b", b"2")], ttl=60)
    assert await store.get_many(["a", "b"]) == [None, b"2"]
    assert store.description == "memory"
    assert store.backend.timeout == 1.0
    assert MemoryStore(max_entries=1, timeout=0.25).backend.timeout == 0.25


async def test_redis_store_round_trips_bytes_with_a_ttl(redis_server: RedisServer) -> None:
    store = create_store("redis", redis_server.url)
    try:
        await store.set_many([("lms-graph:x:1", b"\x00\xffbytes"), ("lms-graph:x:2", b"{}")], 60)
        assert await store.get_many(["lms-graph:x:1", "lms-graph:x:2", "nope"]) == [
            b"\x00\xffbytes",
            b"{}",
            None,
        ]
        client = redis_server.client()
        assert 0 < client.ttl("lms-graph:x:1") <= 60
        client.set("other-app:key", b"keep")
        await store.set_many([("lms-graph:documents:[x]", b"doc")], None)
        assert client.ttl("lms-graph:documents:[x]") == -1  # kept until deleted
        assert await store.keys("lms-graph:documents:[") == ["lms-graph:documents:[x]"]
        assert sorted(await store.keys("lms-graph:x:")) == ["lms-graph:x:1", "lms-graph:x:2"]
        assert await store.clear("lms-graph:") == 3
        assert client.keys("*") == [b"other-app:key"]
        client.close()
    finally:
        await store.close()


def test_urls_lose_their_credentials_in_descriptions() -> None:
    url = "redis://admin:hunter2@cache.internal:6380/2"
    assert redacted_url(url) == "redis://cache.internal:6380/2"
    assert redacted_url("rediss://:pw@[::1]:6379/0") == "rediss://[::1]:6379/0"
    store = RedisStore(url)
    assert "hunter2" not in store.description
    assert "admin" not in store.description
    assert redacted_url("redis://cache.internal/0") == "redis://cache.internal/0"
    assert redacted_url("redis:///0") == "redis://?/0"
    for bad in ("redis://host/notadb", "redis://host/X1", "http://host/0"):
        with pytest.raises(ValueError, match=r"^cache url must look like redis://host:6379/0$"):
            RedisStore(bad)


def test_redis_urls_name_the_database_tls_and_timeouts() -> None:
    default = RedisStore("redis://cache.internal").backend.client.connection_pool
    assert default.connection_class is not SSLConnection
    assert default.connection_kwargs["db"] == 0
    assert default.connection_kwargs["port"] == 6379
    assert default.connection_kwargs["host"] == "cache.internal"
    assert default.connection_kwargs["socket_timeout"] == 1.0
    assert default.connection_kwargs["socket_connect_timeout"] == 1.0
    local = RedisStore("redis:///2")
    assert local.backend.timeout == 1.0
    assert local.backend.client.connection_pool.connection_kwargs["host"] == "127.0.0.1"
    tls = RedisStore("rediss://cache.internal:6380/3", timeout=0.5)
    pool = tls.backend.client.connection_pool
    assert pool.connection_class is SSLConnection
    assert (pool.connection_kwargs["db"], pool.connection_kwargs["socket_timeout"]) == (3, 0.5)
    assert tls.description == "rediss://cache.internal:6380/3"


async def test_redis_store_logs_in_as_the_urls_acl_user(redis_server: RedisServer) -> None:
    client = redis_server.client()
    client.acl_setuser(
        "cache-user", enabled=True, passwords=["+p@ss word"], keys=["*"], commands=["+@all"]
    )
    port = redis_server.port
    store = RedisStore(f"redis://cache-user:p%40ss%20word@127.0.0.1:{port}/0")
    try:
        await store.set_many([("lms-graph:v1:k", b"v")], ttl=60)
        assert await store.get_many(["lms-graph:v1:k"]) == [b"v"]
        assert client.acl_log(count=1) == []
    finally:
        await store.close()
        client.acl_deluser("cache-user")
        client.close()


async def test_an_unreachable_store_is_a_miss_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    monotonic = FakeClock(0.0)
    store = RedisStore(f"redis://:pw-in-url@127.0.0.1:{free_port()}/0", monotonic=monotonic)
    caplog.set_level(logging.WARNING, "lms_graph.cache")
    for _ in range(3):
        assert await store.get_many(["a", "b"]) == [None, None]
        await store.set_many([("a", b"1")], ttl=60)
        monotonic.advance(RETRY_AFTER_SECONDS)  # tried again each time, and failing again
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert warnings[0].getMessage() == (
        f"cache {store.description} failed (ConnectionError);"
        " reading from the sources until it answers again"
    )
    assert "pw-in-url" not in caplog.text
    await store.close()


@pytest.mark.usefixtures("redis_binary")
async def test_a_failing_store_is_left_alone_then_tried_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    monotonic = FakeClock(0.0)
    server = RedisServer()
    server.start()
    store = RedisStore(server.url, monotonic=monotonic)
    caplog.set_level(logging.INFO, "lms_graph.cache")
    try:
        await store.set_many([("k", b"v")], ttl=60)
        server.stop()
        assert await store.get_many(["k"]) == [None]
        server.start()  # same port, empty: the next success writes again
        assert await store.get_many(["k"]) == [None]
        await store.set_many([("k", b"v2")], ttl=60)
        client = server.client()
        assert client.get("k") is None  # still pausing: nothing was sent
        client.close()
        monotonic.advance(RETRY_AFTER_SECONDS)
        await store.set_many([("k", b"v2")], ttl=60)
        assert await store.get_many(["k"]) == [b"v2"]
    finally:
        await store.close()
        server.stop()
    logged = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert len(logged) == 2
    assert logged[0][0] == logging.WARNING
    assert "failed" in logged[0][1]
    assert logged[1][0] == logging.INFO
    assert "answers again" in logged[1][1]


async def test_redis_clear_deletes_and_counts_more_keys_than_one_batch(
    redis_server: RedisServer,
) -> None:
    client = redis_server.client()
    client.mset({f"lms-graph:v1:s:{n}": b"x" for n in range(2 * _SCAN_BATCH + 1)})
    client.set("lms-graph:documents:d", b"keep")
    store = create_store("redis", redis_server.url)
    try:
        assert await store.clear("lms-graph:v1:") == 2 * _SCAN_BATCH + 1
        assert client.keys("*") == [b"lms-graph:documents:d"]
    finally:
        await store.close()
        client.close()


def test_create_store_names_its_backend_and_passes_the_timeout() -> None:
    memory = create_store("memory", max_entries=3, timeout=0.25)
    assert isinstance(memory, MemoryStore)
    assert (memory.backend.max_entries, memory.backend.timeout) == (3, 0.25)
    redis_store = create_store("redis", "redis://cache.internal/0", timeout=0.25)
    assert isinstance(redis_store, RedisStore)
    assert redis_store.backend.timeout == 0.25
    with pytest.raises(ValueError, match=r"^the redis cache backend needs a url$"):
        create_store("redis")
    with pytest.raises(ValueError, match=r"^unknown cache backend 'memcached'$"):
        create_store("memcached")
