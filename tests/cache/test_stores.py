"""The stores: a bounded LRU memory backend, Redis, and what a failing store does."""

from __future__ import annotations

import logging
import math
import random
import re

import pytest
import redis
from redis.asyncio.connection import SSLConnection

from resolvers.cache import MemoryStore, RedisStore, create_store, redacted_url
from resolvers.cache.stores import (
    _SCAN_BATCH,
    DECODED_BYTES_PER_JSON_BYTE,
    ENTRY_OVERHEAD_BYTES,
    RETRY_AFTER_SECONDS,
)
from tests.cache.helpers import FakeClock, RedisServer, free_port


async def test_memory_evicts_the_least_recently_used_key() -> None:
    store = MemoryStore(max_entries=3)
    await store.set_many([("a", b"1"), ("b", b"2"), ("c", b"3")], ttl=60)
    assert await store.get_many(["a"]) == [b"1"]  # a is now the most recent
    await store.set_many([("d", b"4")], ttl=60)
    assert sorted(store.backend.live_keys()) == ["a", "c", "d"]
    assert await store.get_many(["a", "b", "c", "d"]) == [b"1", None, b"3", b"4"]
    await store.set_many([("a", b"1'")], ttl=60)  # a rewrite is a use too
    await store.set_many([("e", b"5")], ttl=60)
    assert sorted(store.backend.live_keys()) == ["a", "d", "e"]
    await store.close()


def held(key: str, value: bytes) -> int:
    """What an entry of bytes is accounted in the memory store."""
    return len(key) + len(value) + ENTRY_OVERHEAD_BYTES


async def test_memory_is_bounded_by_the_bytes_of_its_entries() -> None:
    small = [(f"k{n}", b"x" * 100) for n in range(10)]
    store = MemoryStore(max_bytes=sum(held(k, v) for k, v in small))
    await store.set_many(small, ttl=60)
    assert len(store.backend) == 10
    assert store.bytes_held == sum(held(k, v) for k, v in small)
    # One value the size of three small entries pushes out the three least recently used.
    await store.get_many(["k0"])
    big = b"y" * (3 * held("k1", b"x" * 100) - len("big") - ENTRY_OVERHEAD_BYTES)
    await store.set_many([("big", big)], ttl=60)
    assert sorted(store.backend.live_keys()) == ["big", "k0", "k4", "k5", "k6", "k7", "k8", "k9"]
    # A value larger than the whole store is not kept, and the key's older value goes.
    await store.set_many([("k9", b"z" * store.backend.maxsize)], ttl=60)
    assert await store.get_many(["k9"]) == [None]
    assert store.bytes_held <= store.backend.maxsize
    await store.set_many([("new", b"z" * store.backend.maxsize)], ttl=60)  # no older value
    assert await store.get_many(["new", "k8"]) == [None, b"x" * 100]


async def test_memory_bytes_stay_bounded_under_any_traffic() -> None:
    store = MemoryStore(max_bytes=20_000)
    rng = random.Random(5)
    for _ in range(300):
        keys = [f"k{rng.randrange(5000)}" for _ in range(rng.randrange(1, 40))]
        if rng.random() < 0.5:
            await store.set_many([(k, b"x" * rng.randrange(1, 900)) for k in keys], ttl=60)
        else:
            await store.get_many(keys)
        assert store.bytes_held <= 20_000
        kept = {k: store.backend[k] for k in store.backend.live_keys()}
        assert store.bytes_held == sum(held(k, h.value) for k, h in kept.items())
    assert store.bytes_held > 20_000 - 2_000  # full, less at most one entry's room
    await store.close()


async def test_memory_entries_expire_with_their_ttl() -> None:
    clock = FakeClock()
    store = MemoryStore(max_bytes=2**20, timer=clock)
    await store.set_many([("k", b"v")], ttl=5)
    await store.set_many([("forever", b"v")], ttl=None)
    clock.advance(4.9)
    assert await store.get_many(["k"]) == [b"v"]
    clock.advance(0.2)
    assert await store.get_many(["k", "forever"]) == [None, b"v"]
    await store.set_many([("other", b"v")], ttl=60)  # a write drops what expired
    assert store.bytes_held == held("forever", b"v") + held("other", b"v")


async def test_memory_clear_removes_only_the_prefix() -> None:
    store = MemoryStore(max_entries=10)
    await store.set_many([("p:a:1", b"1"), ("p:a:2", b"2"), ("p:ab:1", b"3")], ttl=60)
    assert await store.clear("p:a:") == 2
    assert await store.get_many(["p:a:1", "p:a:2", "p:ab:1"]) == [None, None, b"3"]
    await store.close()
    assert store.bytes_held == 0


async def test_memory_keeps_entries_without_ttl_and_lists_keys_by_prefix() -> None:
    store = MemoryStore(max_entries=10)
    await store.set_many([("lms-graph:documents:a", b"1"), ("lms-graph:v1:b", b"2")], None)
    assert await store.keys("lms-graph:documents:") == ["lms-graph:documents:a"]
    assert await store.get_many(["lms-graph:documents:a"]) == [b"1"]
    await store.set_many([("lms-graph:v1:c", b"3")], 0)  # a TTL of 0 stores nothing
    assert await store.keys("lms-graph:v1:") == ["lms-graph:v1:b"]


async def test_memory_ttls_of_1_are_kept_and_of_0_leave_the_entry_there_as_it_was() -> None:
    clock = FakeClock()
    store = MemoryStore(max_bytes=2**20, timer=clock)
    await store.set_many([("k", b"v")], ttl=5)
    await store.set_decoded([("d", b'"v"', "v")], ttl=5)
    await store.set_many([("one", b"1")], ttl=1)
    await store.set_decoded([("one-d", b'"1"', "1")], ttl=1)
    await store.set_many([("k", b"new")], ttl=0)
    await store.set_decoded([("d", b'"new"', "new")], ttl=0)
    assert await store.get_many(["k", "one"]) == [b"v", b"1"]
    assert await store.get_decoded(["d", "one-d"], Decoding()) == ["v", "1"]
    clock.advance(1)
    assert await store.get_many(["one"]) == [None]
    assert await store.get_decoded(["one-d"], Decoding()) == [None]
    clock.advance(4)  # what the ignored writes found still expires when it was due
    assert await store.get_many(["k"]) == [None]
    assert await store.get_decoded(["d"], Decoding()) == [None]


async def test_memory_delete_many_counts_the_keys_that_existed() -> None:
    store = MemoryStore(max_entries=10)
    await store.set_many([("a", b"1"), ("b", b"2")], ttl=60)
    assert await store.delete_many(["a", "missing", "a"]) == 1
    assert await store.get_many(["a", "b"]) == [None, b"2"]


class Ticking:
    """A clock that moves a second each time it is read, like time while code runs."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


async def test_memory_clear_is_no_error_when_entries_expire_while_it_runs() -> None:
    store = MemoryStore(max_entries=200, timer=Ticking())
    for ttl in range(1, 200):  # some are listed live and gone by the time they are deleted
        await store.set_many([(f"p:{ttl}", b"v")], ttl=ttl)
    assert 0 < await store.clear("p:") < 199
    assert await store.keys("p:") == []


class Decoding:
    """A decoder that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, raw: bytes) -> str:
        self.calls += 1
        return raw.decode()


async def test_memory_keeps_a_decoded_value_in_place_of_its_bytes() -> None:
    store = MemoryStore(max_bytes=2**20)
    value = ("a", "frozen", "record")
    await store.set_decoded([("k", b'["a","frozen","record"]', value)], ttl=60)
    decode = Decoding()
    (found,) = await store.get_decoded(["k"], decode)
    assert found is value  # the very object: no decoding on a hit
    assert decode.calls == 0
    assert store.bytes_held == 1 + math.ceil(23 * DECODED_BYTES_PER_JSON_BYTE) + (
        ENTRY_OVERHEAD_BYTES
    )
    assert await store.get_many(["k"]) == [None]  # kept decoded only
    # Bytes written as bytes are decoded on every read.
    await store.set_many([("raw", b"text")], ttl=60)
    assert await store.get_decoded(["raw", "raw", "missing"], decode) == ["text", "text", None]
    assert decode.calls == 2
    await store.set_decoded([("gone", b"x", value)], ttl=0)
    assert await store.get_decoded(["gone"], decode) == [None]
    await store.set_decoded([("kept", b"x", value)], ttl=None)  # until evicted or deleted
    assert await store.get_decoded(["kept"], decode) == [value]


async def test_a_memory_store_needs_one_bound_and_room_for_one_entry() -> None:
    with pytest.raises(ValueError, match=r"^a memory cache needs room for at least one entry$"):
        MemoryStore(max_entries=0)
    with pytest.raises(ValueError, match=r"^give a memory store max_bytes or max_entries$"):
        MemoryStore()
    with pytest.raises(ValueError, match=r"^give a memory store max_bytes or max_entries$"):
        MemoryStore(max_bytes=10, max_entries=10)
    store = MemoryStore(max_entries=1)
    await store.set_many([("a", b"1"), ("b", b"2")], ttl=60)
    assert await store.get_many(["a", "b"]) == [None, b"2"]
    assert store.description == "memory"


async def test_redis_store_round_trips_bytes_with_a_ttl(redis_server: RedisServer) -> None:
    store = create_store("redis", redis_server.url)
    try:
        # Redis keeps bytes: a decoded value is written as its bytes and decoded on reading.
        await store.set_decoded([("lms-graph:d", b"text", "ignored")], 60)
        decode = Decoding()
        assert await store.get_decoded(["lms-graph:d", "nope"], decode) == ["text", None]
        assert decode.calls == 1
        client = redis_server.client()
        assert 0 < client.ttl("lms-graph:d") <= 60
        # A TTL of 1 is kept; one of 0 stores nothing (Redis would keep it forever).
        await store.set_many([("lms-graph:one", b"1")], 1)
        await store.set_many([("lms-graph:zero", b"0")], 0)
        assert await store.get_many(["lms-graph:one", "lms-graph:zero"]) == [b"1", None]
        assert client.exists("lms-graph:zero") == 0
        client.delete("lms-graph:one")
        await store.set_many([("lms-graph:x:1", b"\x00\xffbytes"), ("lms-graph:x:2", b"{}")], 60)
        assert await store.get_many(["lms-graph:x:1", "lms-graph:x:2", "nope"]) == [
            b"\x00\xffbytes",
            b"{}",
            None,
        ]
        assert 0 < client.ttl("lms-graph:x:1") <= 60
        client.set("other-app:key", b"keep")
        await store.set_many([("lms-graph:documents:[x]", b"doc")], None)
        assert client.ttl("lms-graph:documents:[x]") == -1  # kept until deleted
        assert await store.keys("lms-graph:documents:[") == ["lms-graph:documents:[x]"]
        assert sorted(await store.keys("lms-graph:x:")) == ["lms-graph:x:1", "lms-graph:x:2"]
        assert await store.clear("lms-graph:") == 4
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
    monotonic = FakeClock(1_000.0)  # like time.monotonic(), far from 0
    server = RedisServer()
    server.start()
    store = RedisStore(server.url, monotonic=monotonic)
    caplog.set_level(logging.INFO, "lms_graph.cache")
    try:
        await store.set_many([("k", b"v")], ttl=60)
        server.stop()
        await store.set_many([("k", b"v1")], ttl=60)  # fails, and starts the pause
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
    assert [level for level, _ in logged] == [logging.WARNING, logging.INFO]
    failed = re.fullmatch(
        rf"cache {re.escape(store.description)} failed \((\w+)\); "
        "reading from the sources until it answers again",
        logged[0][1],
    )
    assert failed is not None
    assert failed[1] != "NoneType"  # the class of what the driver raised
    assert logged[1][1] == f"cache {store.description} answers again"


def redis_calls(client: redis.Redis, command: str) -> int:
    """How many times Redis ran ``command`` since its statistics were last reset."""
    stats = client.info("commandstats").get(f"cmdstat_{command}", {})
    return int(stats.get("calls", 0))


async def test_redis_clear_deletes_and_counts_more_keys_than_one_batch(
    redis_server: RedisServer,
) -> None:
    client = redis_server.client()
    many = 2 * _SCAN_BATCH + 1
    client.mset({f"lms-graph:v1:s:{n}": b"x" for n in range(many)})
    client.set("lms-graph:documents:d", b"keep")
    store = create_store("redis", redis_server.url)
    try:
        # A few round trips per batch of keys, not SCAN's default of one per 10 keys.
        client.config_resetstat()
        assert len(await store.keys("lms-graph:v1:")) == many
        assert redis_calls(client, "scan") <= 2 * math.ceil(many / _SCAN_BATCH)
        client.config_resetstat()
        assert await store.clear("lms-graph:v1:") == many
        assert client.keys("*") == [b"lms-graph:documents:d"]
        assert redis_calls(client, "scan") <= 2 * math.ceil(many / _SCAN_BATCH)
        assert redis_calls(client, "del") == math.ceil(many / _SCAN_BATCH)
    finally:
        await store.close()
        client.close()


async def test_redis_delete_many_counts_what_existed_in_batches(
    redis_server: RedisServer,
) -> None:
    client = redis_server.client()
    keys = [f"lms-graph:responses:v1:{n}" for n in range(2 * _SCAN_BATCH + 1)]
    client.mset(dict.fromkeys(keys, b"x"))
    client.set("lms-graph:responses:v1:other", b"keep")
    store = create_store("redis", redis_server.url)
    try:
        client.config_resetstat()
        assert await store.delete_many([*keys, "lms-graph:responses:v1:missing"]) == len(keys)
        assert redis_calls(client, "del") == math.ceil((len(keys) + 1) / _SCAN_BATCH)
        assert client.keys("*") == [b"lms-graph:responses:v1:other"]
    finally:
        await store.close()
        client.close()


def test_create_store_names_its_backend_and_passes_its_bound() -> None:
    memory = create_store("memory", max_bytes=3 * 2**20, timeout=0.25)
    assert isinstance(memory, MemoryStore)
    assert memory.backend.maxsize == 3 * 2**20
    redis_store = create_store("redis", "redis://cache.internal/0", timeout=0.25)
    assert isinstance(redis_store, RedisStore)
    assert redis_store.backend.timeout == 0.25
    with pytest.raises(ValueError, match=r"^the redis cache backend needs a url$"):
        create_store("redis")
    with pytest.raises(ValueError, match=r"^unknown cache backend 'memcached'$"):
        create_store("memcached")
