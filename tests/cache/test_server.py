"""The cache through the real server: GraphQL over HTTP, the emulator as the vendor."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import pytest
from strawberry.relay import to_base64

from connectors.sandbox import Emulator, KomboTenant
from connectors.settings import KomboSettings
from graph.cli import main
from graph.config import CacheSettings
from tests.cache.conftest import ACME_KEY, GLOBEX_KEY, REDIS_PASSWORD
from tests.cache.helpers import FakeClock, RedisServer, clear_config
from tests.harness import CANONICAL_QUERY, GraphQLServer, kombo_source, run_server

ENDPOINTS = ["/lms/users", "/lms/course-progressions", "/lms/courses"]
SOURCES_QUERY = "{ sources { name cache { hits misses staleServed } } }"
NAMES_QUERY = """
query Names($source: String!, $id: ID!) {
  users(first: 5, source: $source) { edges { node { firstName } } }
  user(id: $id) { firstName }
}
"""


def redis_cache(server: RedisServer) -> CacheSettings:
    return CacheSettings.model_validate({"backend": "redis", "url": server.url})


@pytest.fixture(params=["memory", "redis"])
def cache(request: pytest.FixtureRequest) -> CacheSettings:
    """Tests taking this fixture run once per backend."""
    if request.param == "memory":
        return CacheSettings(backend="memory")
    return redis_cache(request.getfixturevalue("redis_server"))


def source(emulator: Emulator, tenant: KomboTenant, name: str = "acme") -> KomboSettings:
    return kombo_source(name, emulator, tenant, max_attempts=1)


async def canonical(server: GraphQLServer) -> dict[str, Any]:
    return await server.data(CANONICAL_QUERY, {"first": 10})


def calls(emulator: Emulator) -> dict[str, int]:
    return {path: emulator.count(path=path) for path in ENDPOINTS}


async def test_a_warm_canonical_query_makes_no_upstream_call(
    cache: CacheSettings, emulator: Emulator, acme: KomboTenant
) -> None:
    async with run_server([source(emulator, acme)], cache) as server:
        emulator.clear_requests()
        cold = await canonical(server)
        assert all(count >= 1 for count in calls(emulator).values())
        emulator.clear_requests()
        assert await canonical(server) == cold
        assert emulator.requests == []


async def test_sources_with_colliding_ids_never_see_each_others_entries(
    cache: CacheSettings, emulator: Emulator, acme: KomboTenant, globex: KomboTenant
) -> None:
    first = acme.world.users[0]
    assert first.id == globex.world.users[0].id
    sources = [source(emulator, acme), source(emulator, globex, "globex")]
    async with run_server(sources, cache) as server:
        for _ in range(2):  # cold, then from the cache
            for name, prefix in [("acme", ""), ("globex", "Globex-")]:
                global_id = to_base64("User", f"{name}:{first.id}")
                data = await server.data(NAMES_QUERY, {"source": name, "id": global_id})
                names = [edge["node"]["firstName"] for edge in data["users"]["edges"]]
                assert [n.startswith("Globex-") for n in names] == [bool(prefix)] * 5
                assert data["user"] == {"firstName": prefix + first.first_name}


async def test_a_source_pointed_at_another_tenant_does_not_read_the_old_entries(
    redis_server: RedisServer, emulator: Emulator, acme: KomboTenant, globex: KomboTenant
) -> None:
    """Two servers sharing one Redis, each with a source "acme", on different tenants."""
    cache = redis_cache(redis_server)
    first = acme.world.users[0]
    variables = {"source": "acme", "id": to_base64("User", f"acme:{first.id}")}
    async with run_server([source(emulator, acme)], cache) as server:
        assert (await server.data(NAMES_QUERY, variables))["user"]["firstName"] == first.first_name
    emulator.clear_requests()
    async with run_server([source(emulator, globex)], cache) as server:
        data = await server.data(NAMES_QUERY, variables)
    assert data["user"]["firstName"] == "Globex-" + first.first_name
    assert emulator.count(path="/lms/users") >= 1


async def test_redis_holds_no_credential_in_any_key_or_value(
    redis_server: RedisServer, emulator: Emulator, acme: KomboTenant, globex: KomboTenant
) -> None:
    sources = [source(emulator, acme), source(emulator, globex, "globex")]
    async with run_server(sources, redis_cache(redis_server)) as server:
        await canonical(server)
        await server.data(NAMES_QUERY, {"source": "globex", "id": to_base64("User", "globex:x")})
        await server.data('{ person(email: "nobody@example.com") { email } }')
    client = redis_server.client()
    keys = list(client.scan_iter(match="*", count=1000))
    values = [client.get(key) or b"" for key in keys]
    client.close()
    assert len(keys) > 50
    prefixes = (b"lms-graph:v1:acme:", b"lms-graph:v1:globex:", b"lms-graph:responses:v1:")
    assert all(key.startswith(prefixes) for key in keys)
    assert any(key.startswith(b"lms-graph:responses:v1:") for key in keys)
    secrets = [ACME_KEY, GLOBEX_KEY, REDIS_PASSWORD, "nobody@example.com"]
    for blob in keys + values:
        for secret in secrets:
            assert secret.encode() not in blob


async def test_concurrent_identical_requests_share_one_vendor_call_per_endpoint(
    cache: CacheSettings, emulator: Emulator, acme: KomboTenant
) -> None:
    async with run_server([source(emulator, acme)], cache) as server:
        emulator.latency_seconds = 0.3  # long enough for every request to join in flight
        emulator.clear_requests()
        results = await asyncio.gather(*(canonical(server) for _ in range(20)))
    assert all(result == results[0] for result in results)
    assert calls(emulator) == dict.fromkeys(ENDPOINTS, 1)


async def test_a_failing_source_is_answered_from_expired_entries_within_the_window(
    emulator: Emulator, acme: KomboTenant
) -> None:
    clock = FakeClock()
    cache = CacheSettings(ttl_seconds=60, stale_if_error_seconds=600)
    async with run_server([source(emulator, acme)], cache, clock) as server:
        warm = await canonical(server)
        emulator.inject_fault("kombo", status=503, times=None)
        clock.advance(61)  # every entry expired, well within the window
        body = await server.post(CANONICAL_QUERY, {"first": 10})
        assert body["data"] == warm
        (error,) = body["errors"]
        assert error["extensions"] == {
            "code": "SOURCE_STALE_DATA",
            "source": "acme",
            "ageSeconds": 61,
            "cause": "SOURCE_UNAVAILABLE",
        }
        assert "acme" in error["message"]
        assert "61 seconds old" in error["message"]
        stats = (await server.data(SOURCES_QUERY))["sources"][0]["cache"]
        assert stats["staleServed"] >= 3  # the page, the progressions, the courses

        clock.advance(600)  # now past the window: the failure shows as before
        body = await server.post(CANONICAL_QUERY, {"first": 10})
    codes = [error["extensions"]["code"] for error in body["errors"]]
    assert codes == ["SOURCE_UNAVAILABLE"]
    assert body["data"]["users"]["edges"] == []


async def test_redis_stopping_mid_run_falls_back_to_the_vendor_with_one_warning(
    redis_binary: None,
    emulator: Emulator,
    acme: KomboTenant,
    caplog: pytest.LogCaptureFixture,
) -> None:
    redis_server = RedisServer(password="mid-run-password")
    redis_server.start()
    try:
        async with run_server([source(emulator, acme)], redis_cache(redis_server)) as server:
            warm = await canonical(server)
            emulator.clear_requests()
            assert await canonical(server) == warm
            assert emulator.requests == []
            caplog.set_level(logging.WARNING, "lms_graph.cache")
            redis_server.stop()
            for _ in range(3):
                assert await canonical(server) == warm
            assert calls(emulator) == dict.fromkeys(ENDPOINTS, 3)
    finally:
        redis_server.stop()
    warnings = [r for r in caplog.records if r.name == "lms_graph.cache"]
    assert len(warnings) == 1
    assert "mid-run-password" not in caplog.text


async def test_corrupt_entries_are_read_from_the_vendor_again(
    redis_server: RedisServer, emulator: Emulator, acme: KomboTenant
) -> None:
    async with run_server([source(emulator, acme)], redis_cache(redis_server)) as server:
        warm = await canonical(server)
        client = redis_server.client()
        for key in client.scan_iter(match="lms-graph:*"):
            client.set(key, b"\x00not an entry", keepttl=True)
        client.close()
        emulator.clear_requests()
        assert await canonical(server) == warm
        assert calls(emulator) == dict.fromkeys(ENDPOINTS, 1)
        emulator.clear_requests()
        assert await canonical(server) == warm
        assert emulator.requests == []  # the entries were written again


async def test_cache_clear_removes_only_the_named_sources_keys(
    redis_server: RedisServer,
    emulator: Emulator,
    acme: KomboTenant,
    globex: KomboTenant,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sources = [source(emulator, acme), source(emulator, globex, "globex")]
    async with run_server(sources, redis_cache(redis_server)) as server:
        for name in ("acme", "globex"):
            await server.data(NAMES_QUERY, {"source": name, "id": to_base64("User", f"{name}:x")})
    client = redis_server.client()
    client.set("another-app:key", b"untouched")
    before = {key.split(b":")[2] for key in client.scan_iter(match="lms-graph:v1:*")}
    assert before == {b"acme", b"globex"}
    assert len(client.keys("lms-graph:responses:v1:*")) == 2  # one per source queried
    config = clear_config(tmp_path, redis_server)
    args = ["cache", "clear", "--source", "acme", "--config", str(config)]
    assert await asyncio.to_thread(main, args) == 0
    after = {key.split(b":")[2] for key in client.scan_iter(match="lms-graph:v1:*")}
    assert after == {b"globex"}
    assert len(client.keys("lms-graph:responses:v1:*")) == 1  # acme's response went too
    assert await asyncio.to_thread(main, ["cache", "clear", "--config", str(config)]) == 0
    assert client.keys("*") == [b"another-app:key"]
    client.close()
    out = capsys.readouterr().out
    assert "of source 'acme'" in out
    assert "of every source" in out
    assert REDIS_PASSWORD not in out


def test_cache_clear_explains_the_memory_backend(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cache", "clear"]) == 0  # the embedded demo: memory
    assert "inside the server process" in capsys.readouterr().out


async def test_the_sources_query_counts_hits_and_misses(
    cache: CacheSettings, emulator: Emulator, acme: KomboTenant
) -> None:
    cache = cache.model_copy(update={"responses": False})  # the entries' own counters
    async with run_server([source(emulator, acme)], cache) as server:
        await canonical(server)
        cold = (await server.data(SOURCES_QUERY))["sources"][0]["cache"]
        await canonical(server)
        warm = (await server.data(SOURCES_QUERY))["sources"][0]["cache"]
    # Cold: the page, 10 users' progressions, the courses; warm: all of them hit.
    assert cold["hits"] == 0
    assert cold["misses"] >= 12
    assert warm == {"hits": cold["misses"], "misses": cold["misses"], "staleServed": 0}


async def test_without_a_cache_every_query_goes_to_the_vendor(
    emulator: Emulator, acme: KomboTenant
) -> None:
    async with run_server([source(emulator, acme)], CacheSettings(backend="none")) as server:
        emulator.clear_requests()
        await canonical(server)
        await canonical(server)
        data = await server.data(SOURCES_QUERY)
    assert calls(emulator) == dict.fromkeys(ENDPOINTS, 2)
    assert data == {"sources": [{"name": "acme", "cache": None}]}
