"""The response cache through the real server: GraphQL over HTTP on loopback, the emulator
as the vendor, its request log counting vendor calls."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from multidict import CIMultiDictProxy
from pydantic import SecretStr

from connectors.sandbox import Emulator, KomboTenant
from graph.cli import main
from graph.clients import key_sha256
from graph.config import (
    CacheSettings,
    ClientSettings,
    DocumentsSettings,
    ServerSettings,
)
from tests.cache.conftest import ACME_KEY, GLOBEX_KEY, REDIS_PASSWORD
from tests.cache.helpers import FakeClock, RedisServer, clear_config
from tests.harness import CANONICAL_QUERY, GraphQLServer, kombo_source, run_server

USERS = """
query Users($sources: [String!], $first: Int!) {
  users(first: $first, sources: $sources) { edges { node { id firstName email } } }
}
"""
MEMORY = CacheSettings(backend="memory")
SECRET = "response-cache-test-cursor-secret"
CLIENT_KEYS = {"acme-only": "key-acme-only-1", "acme-too": "key-acme-too-2", "all": "key-all-3"}


@dataclass
class Reply:
    status: int
    raw: bytes
    headers: CIMultiDictProxy[str]

    @property
    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.raw)
        return data

    @property
    def hit(self) -> bool:
        return self.headers.get("x-lms-graph-cache") == "HIT"


async def ask(
    server: GraphQLServer,
    query: str = CANONICAL_QUERY,
    variables: dict[str, Any] | None = None,
    *,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    extensions: dict[str, Any] | None = None,
) -> Reply:
    """One request, its raw bytes kept (ETags are over them)."""
    sent = {**server.headers, **(headers or {})}
    url = server.url + "/graphql"
    if method == "GET":
        params = {"variables": json.dumps(variables or {})}
        if extensions is not None:
            params["extensions"] = json.dumps(extensions)
        else:
            params["query"] = query
        request = server.session.get(url, params=params, headers=sent)
    else:
        payload: dict[str, Any] = {"query": query, "variables": variables or {}}
        request = server.session.post(url, json=payload, headers=sent)
    async with request as response:
        return Reply(response.status, await response.read(), response.headers)


def canonical_vars(first: int = 10) -> dict[str, Any]:
    return {"first": first}


def kombo(emulator: Emulator, tenant: KomboTenant, name: str) -> Any:
    return kombo_source(name, emulator, tenant, max_attempts=1)


def redis_cache(server: RedisServer, **extra: Any) -> CacheSettings:
    return CacheSettings.model_validate({"backend": "redis", "url": server.url, **extra})


def drop_entries(redis_server: RedisServer) -> int:
    """Deletes every entity, list and group entry, leaving the stored responses: whatever
    executes after this must call the vendor again."""
    client = redis_server.client()
    keys = [k for k in client.scan_iter(match="lms-graph:v1:*") if b":response:" not in k]
    deleted = client.delete(*keys) if keys else 0
    client.close()
    return int(deleted)


@pytest.fixture
def two_sources(emulator: Emulator, acme: KomboTenant, globex: KomboTenant) -> list[Any]:
    return [kombo(emulator, acme, "acme"), kombo(emulator, globex, "globex")]


@asynccontextmanager
async def serving(
    sources: list[Any], cache: CacheSettings, clock: Callable[[], float] | None = None, **extra: Any
) -> AsyncIterator[GraphQLServer]:
    extra.setdefault("server", ServerSettings(cursor_secret=SecretStr(SECRET)))
    async with run_server(sources, cache, clock or FakeClock(), **extra) as server:
        yield server


# -- hits skip execution --------------------------------------------------------------------


async def test_a_second_identical_query_is_answered_without_executing_it(
    redis_server: RedisServer, emulator: Emulator, two_sources: list[Any]
) -> None:
    async with serving(two_sources, redis_cache(redis_server)) as server:
        cold = await ask(server, variables=canonical_vars())
        assert cold.status == 200
        assert "errors" not in cold.body
        assert not cold.hit
        assert emulator.count() > 0
        # Without its entries, any execution would call the vendor again.
        assert drop_entries(redis_server) > 10
        emulator.clear_requests()
        warm = await ask(server, variables=canonical_vars())
        assert warm.hit
        assert warm.raw == cold.raw
        assert emulator.requests == []
        # The entity cache was not even read: its counters did not move.
        stats = await ask(server, "{ sources { name cache { hits misses } } }")
        assert [s["cache"]["hits"] for s in stats.body["data"]["sources"]] == [0, 0]


async def test_a_hit_never_reads_the_entity_cache_memory_backend(
    emulator: Emulator, two_sources: list[Any]
) -> None:
    async with serving(two_sources, MEMORY) as server:
        cold = await ask(server, variables=canonical_vars())
        emulator.clear_requests()
        for _ in range(3):
            warm = await ask(server, variables=canonical_vars())
            assert warm.hit
            assert warm.raw == cold.raw
        stats = await ask(server, "{ sources { name cache { hits misses } } }")
    assert emulator.requests == []
    assert [s["cache"]["hits"] for s in stats.body["data"]["sources"]] == [0, 0]


# -- what misses ----------------------------------------------------------------------------


async def test_other_variables_and_other_selected_sources_miss(
    redis_server: RedisServer, emulator: Emulator, two_sources: list[Any]
) -> None:
    asks = [
        {"first": 3, "sources": ["acme"]},
        {"first": 4, "sources": ["acme"]},
        {"first": 3, "sources": ["globex"]},
        {"first": 3, "sources": ["acme", "globex"]},
        {"first": 3},
    ]
    async with serving(two_sources, redis_cache(redis_server)) as server:
        for variables in asks:
            drop_entries(redis_server)
            emulator.clear_requests()
            answer = await ask(server, USERS, variables)
            assert not answer.hit, variables
            assert emulator.count() >= 1, variables
        drop_entries(redis_server)
        emulator.clear_requests()
        for variables in asks:  # each is stored now, apart from the others
            answer = await ask(server, USERS, {**variables})
            assert answer.hit, variables
        # The same values in another key order are the same request.
        assert (await ask(server, USERS, {"sources": ["acme"], "first": 3})).hit
    assert emulator.requests == []


async def test_each_client_scope_has_its_own_responses(
    redis_server: RedisServer, emulator: Emulator, two_sources: list[Any]
) -> None:
    clients = [
        ClientSettings(
            name="acme-only", key_sha256=key_sha256(CLIENT_KEYS["acme-only"]), sources=["acme"]
        ),
        ClientSettings(
            name="acme-too", key_sha256=key_sha256(CLIENT_KEYS["acme-too"]), sources=["acme"]
        ),
        ClientSettings(name="all", key_sha256=key_sha256(CLIENT_KEYS["all"])),
    ]
    variables = {"first": 3, "sources": ["acme"]}
    async with serving(two_sources, redis_cache(redis_server), clients=clients) as server:
        acme_only = server.with_key(CLIENT_KEYS["acme-only"])
        everyone = server.with_key(CLIENT_KEYS["all"])
        first = await ask(acme_only, USERS, variables)
        assert first.status == 200
        assert not first.hit
        drop_entries(redis_server)
        emulator.clear_requests()
        # The same query by a client that sees more sources is another response…
        other = await ask(everyone, USERS, variables)
        assert not other.hit
        assert emulator.count() >= 1
        assert other.body == first.body
        emulator.clear_requests()
        # …while a client with the same sources shares it.
        same = await ask(server.with_key(CLIENT_KEYS["acme-too"]), USERS, variables)
        assert same.hit
        assert same.raw == first.raw
        # Stored responses never let a request past the key check.
        refused = await ask(server, USERS, variables)
        assert refused.status == 401
        assert refused.body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        wrong = await ask(server.with_key("not-a-key"), USERS, variables)
        assert wrong.status == 401
    assert emulator.requests == []


# -- what is never stored -------------------------------------------------------------------


async def test_a_response_with_a_source_error_is_not_stored(
    emulator: Emulator, two_sources: list[Any]
) -> None:
    async with serving(two_sources, MEMORY) as server:
        emulator.inject_fault("kombo", "/lms/users", status=503, times=1)
        failed = await ask(server, USERS, {"first": 3})
        codes = [e["extensions"]["code"] for e in failed.body["errors"]]
        assert codes == ["SOURCE_UNAVAILABLE"]
        assert failed.body["data"]["users"]["edges"]  # the other source answered
        again = await ask(server, USERS, {"first": 3})
        assert not again.hit
        assert "errors" not in again.body
        assert (await ask(server, USERS, {"first": 3})).hit  # the clean one is stored


async def test_stale_data_is_not_stored(emulator: Emulator, acme: KomboTenant) -> None:
    clock = FakeClock()
    cache = CacheSettings(backend="memory", ttl_seconds=60, stale_if_error_seconds=600)
    async with serving([kombo(emulator, acme, "acme")], cache, clock) as server:
        warm = await ask(server, variables=canonical_vars())
        clock.advance(61)  # the response and its entries expired, within the stale window
        emulator.inject_fault("kombo", status=503, times=None)
        stale = await ask(server, variables=canonical_vars())
        assert [e["extensions"]["code"] for e in stale.body["errors"]] == ["SOURCE_STALE_DATA"]
        assert stale.body["data"] == warm.body["data"]
        emulator.clear_faults()
        emulator.clear_requests()
        fresh = await ask(server, variables=canonical_vars())
        assert not fresh.hit
        assert "errors" not in fresh.body
        assert emulator.count() >= 1


async def test_warnings_introspection_and_live_reads_are_not_stored(
    emulator: Emulator, two_sources: list[Any]
) -> None:
    queries = [
        "{ __schema { queryType { name } } }",
        "{ sources { name cache { hits } } }",
        "{ sources { name health { ok } } }",
        '{ users(first: 2, source: "acme") { edges { node { id } } } '
        "sources { name cache { misses } } }",
    ]
    async with serving(two_sources, MEMORY) as server:
        emulator.inject_fault("kombo", "/lms/users", mode="missing_field", times=1)
        warned = await ask(server, USERS, {"first": 3, "sources": ["acme"]})
        assert [e["extensions"]["code"] for e in warned.body["errors"]] == ["SOURCE_BAD_RECORD"]
        assert not (await ask(server, USERS, {"first": 3, "sources": ["acme"]})).hit
        for query in queries:
            for _ in range(2):
                answer = await ask(server, query)
                assert answer.status == 200
                assert "errors" not in answer.body, answer.body
                assert not answer.hit, query


async def test_lists_that_are_not_cached_keep_their_responses_out(
    emulator: Emulator, acme: KomboTenant
) -> None:
    cache = CacheSettings.model_validate({"backend": "memory", "ttl": {"lists": 0}})
    async with serving([kombo(emulator, acme, "acme")], cache) as server:
        for _ in range(2):
            emulator.clear_requests()
            answer = await ask(server, variables=canonical_vars())
            assert not answer.hit
            assert emulator.count(path="/lms/users") == 1
        # A look-up by ID reads entities only, which are cached: stored as usual.
        user = (await ask(server, variables=canonical_vars())).body["data"]["users"]
        node_id = user["edges"][0]["node"]["id"]
        lookup = "query One($id: ID!) { node(id: $id) { id } }"
        assert not (await ask(server, lookup, {"id": node_id})).hit
        assert (await ask(server, lookup, {"id": node_id})).hit


# -- how long -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ttl", "shortest"),
    [
        ({"users": 300, "courses": 600, "progressions": 100, "lists": 40}, 40),
        ({"users": 300, "courses": 25, "progressions": 100, "lists": 120}, 25),
        ({"users": 300, "courses": 600, "progressions": 70, "lists": 120}, 70),
    ],
    ids=["lists", "courses", "progressions"],
)
async def test_a_response_lives_as_long_as_its_shortest_entry(
    emulator: Emulator, acme: KomboTenant, ttl: dict[str, int], shortest: int
) -> None:
    clock = FakeClock()
    cache = CacheSettings.model_validate({"backend": "memory", "ttl": ttl})
    async with serving([kombo(emulator, acme, "acme")], cache, clock) as server:
        cold = await ask(server, variables=canonical_vars(), method="GET")
        assert cold.headers["cache-control"] == f"private, max-age={shortest}"
        clock.advance(shortest - 5)
        warm = await ask(server, variables=canonical_vars(), method="GET")
        assert warm.hit
        assert warm.headers["cache-control"] == "private, max-age=5"
        clock.advance(5)
        expired = await ask(server, variables=canonical_vars(), method="GET")
        assert not expired.hit
        assert expired.raw == cold.raw


# -- HTTP caching ---------------------------------------------------------------------------


async def test_get_of_a_persisted_document_has_validators_and_answers_304(
    emulator: Emulator, acme: KomboTenant
) -> None:
    clock = FakeClock()
    query = "query Few($first: Int!) { users(first: $first) { edges { node { id email } } } }"
    digest = hashlib.sha256(query.encode()).hexdigest()
    persisted = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    cache = CacheSettings.model_validate({"backend": "memory", "ttl": {"lists": 30}})
    async with serving([kombo(emulator, acme, "acme")], cache, clock) as server:
        # Apollo's link: the hash alone misses, the query registers it, then GETs.
        register = {"query": query, "variables": {"first": 2}, "extensions": persisted}
        async with server.session.post(server.url + "/graphql", json=register) as response:
            posted = Reply(response.status, await response.read(), response.headers)
        assert posted.status == 200
        assert "cache-control" not in posted.headers
        assert "etag" not in posted.headers
        first = await ask(server, variables={"first": 2}, method="GET", extensions=persisted)
        assert first.hit
        assert first.status == 200
        assert first.headers["cache-control"] == "private, max-age=30"
        assert first.headers["vary"] == "Accept, Authorization"
        etag = first.headers["etag"]
        assert etag == '"' + hashlib.blake2b(first.raw, digest_size=16).hexdigest() + '"'
        emulator.clear_requests()
        again = await ask(
            server,
            variables={"first": 2},
            method="GET",
            extensions=persisted,
            headers={"if-none-match": etag},
        )
        assert again.status == 304
        assert again.raw == b""
        assert again.headers["etag"] == etag
        assert again.headers["cache-control"] == "private, max-age=30"
        weak = {"if-none-match": f'"other", W/{etag}'}
        assert (
            await ask(
                server, variables={"first": 2}, method="GET", extensions=persisted, headers=weak
            )
        ).status == 304
        # Other bytes, another ETag: other variables, or extensions asked for.
        other = await ask(server, variables={"first": 3}, method="GET", extensions=persisted)
        assert other.headers["etag"] != etag
        fresh = await ask(
            server,
            variables={"first": 2},
            method="GET",
            extensions=persisted,
            headers={"if-none-match": etag, "x-lms-graph-freshness": "1"},
        )
        assert fresh.status == 200
        assert fresh.headers["etag"] != etag
        # Rebuilt after expiry from the same data: the same bytes keep the same ETag.
        clock.advance(31)
        emulator.clear_requests()
        rebuilt = await ask(
            server,
            variables={"first": 2},
            method="GET",
            extensions=persisted,
            headers={"if-none-match": etag},
        )
        assert not rebuilt.hit
        assert rebuilt.status == 304
        assert emulator.count(path="/lms/users") == 1  # the list entry expired with it


async def test_a_get_that_cannot_be_stored_says_no_store(
    emulator: Emulator, acme: KomboTenant
) -> None:
    async with serving([kombo(emulator, acme, "acme")], MEMORY) as server:
        emulator.inject_fault("kombo", "/lms/users", status=503, times=1)
        failed = await ask(server, USERS, {"first": 2}, method="GET")
        assert failed.body["errors"]
        assert failed.headers["cache-control"] == "no-store"
        assert "etag" not in failed.headers


# -- concurrency, freshness -----------------------------------------------------------------


async def test_identical_concurrent_misses_run_once(emulator: Emulator, acme: KomboTenant) -> None:
    stats_query = "{ sources { cache { hits misses } } }"
    async with serving([kombo(emulator, acme, "acme")], MEMORY) as server:
        await ask(server, variables=canonical_vars())
        (alone,) = (await ask(server, stats_query)).body["data"]["sources"]
    emulator.clear_requests()
    async with serving([kombo(emulator, acme, "acme")], MEMORY) as server:
        emulator.latency_seconds = 0.2  # long enough for every request to arrive meanwhile
        answers = await asyncio.gather(
            *(ask(server, variables=canonical_vars()) for _ in range(12))
        )
        emulator.latency_seconds = 0
        (together,) = (await ask(server, stats_query)).body["data"]["sources"]
    assert {a.raw for a in answers} == {answers[0].raw}
    assert sorted(a.hit for a in answers) == [False] + [True] * 11
    assert emulator.count(path="/lms/users") == 1
    assert emulator.count(path="/lms/courses") == 1
    # One execution read the entries: eleven more would each have counted their misses.
    assert alone["cache"]["misses"] > 10
    assert together["cache"] == alone["cache"]


async def test_freshness_reports_each_sources_age_and_grows_on_hits(
    emulator: Emulator, two_sources: list[Any]
) -> None:
    clock = FakeClock()
    freshness = {"x-lms-graph-freshness": "1"}
    async with serving(two_sources, MEMORY, clock) as server:
        cold = await ask(server, USERS, {"first": 2, "sources": ["acme"]}, headers=freshness)
        assert cold.body["extensions"] == {"freshness": {"acme": {"ageSeconds": 0}}}
        clock.advance(7.5)
        warm = await ask(server, USERS, {"first": 2, "sources": ["acme"]}, headers=freshness)
        assert warm.hit
        assert warm.body == {**cold.body, "extensions": {"freshness": {"acme": {"ageSeconds": 7}}}}
        plain = await ask(server, USERS, {"first": 2, "sources": ["acme"]})
        assert "extensions" not in plain.body
        # Data of several sources: each its own age, the newer one 0.
        both = await ask(server, USERS, {"first": 2}, headers=freshness)
        assert both.body["extensions"]["freshness"] == {
            "acme": {"ageSeconds": 7},
            "globex": {"ageSeconds": 0},
        }


async def test_report_freshness_and_cost_on_hits(emulator: Emulator, acme: KomboTenant) -> None:
    clock = FakeClock()
    cache = CacheSettings(backend="memory", report_freshness=True)
    async with serving([kombo(emulator, acme, "acme")], cache, clock) as server:
        cold = await ask(server, USERS, {"first": 2}, headers={"x-lms-graph-cost": "1"})
        clock.advance(3)
        warm = await ask(server, USERS, {"first": 2}, headers={"x-lms-graph-cost": "1"})
    assert warm.hit
    assert cold.body["extensions"]["freshness"] == {"acme": {"ageSeconds": 0}}
    assert warm.body["extensions"]["freshness"] == {"acme": {"ageSeconds": 3}}
    assert cold.body["extensions"]["cost"] == {
        "estimated": {"acme": 1},
        "actual": {"acme": 1},
        "maxCost": 2500,
    }
    assert warm.body["extensions"]["cost"] == {
        "estimated": {"acme": 1},
        "actual": {},
        "maxCost": 2500,
    }


async def test_freshness_without_a_cache_is_zero_for_each_source_called(
    emulator: Emulator, two_sources: list[Any]
) -> None:
    cache = CacheSettings(backend="none")
    async with serving(two_sources, cache) as server:
        answer = await ask(server, USERS, {"first": 2}, headers={"x-lms-graph-freshness": "1"})
        again = await ask(server, USERS, {"first": 2})
    assert answer.body["extensions"]["freshness"] == {
        "acme": {"ageSeconds": 0},
        "globex": {"ageSeconds": 0},
    }
    assert "x-lms-graph-cache" not in again.headers


async def test_responses_off_executes_every_time(emulator: Emulator, acme: KomboTenant) -> None:
    cache = CacheSettings(backend="memory", responses=False)
    async with serving([kombo(emulator, acme, "acme")], cache) as server:
        await ask(server, USERS, {"first": 2})
        answer = await ask(server, USERS, {"first": 2})
        stats = await ask(server, "{ sources { cache { hits } } }")
    assert "x-lms-graph-cache" not in answer.headers
    assert stats.body["data"]["sources"][0]["cache"]["hits"] >= 1  # executed, from entries


# -- trusted documents, clearing, several instances -----------------------------------------


async def test_trusted_mode_refuses_a_stored_free_form_query(
    redis_server: RedisServer, emulator: Emulator, acme: KomboTenant
) -> None:
    cache = redis_cache(redis_server)
    sources = [kombo(emulator, acme, "acme")]
    async with serving(sources, cache) as open_server:
        assert not (await ask(open_server, USERS, {"first": 2})).hit
        assert (await ask(open_server, USERS, {"first": 2})).hit
    documents = DocumentsSettings(mode="trusted")
    async with serving(sources, cache, documents=documents) as trusted:
        refused = await ask(trusted, USERS, {"first": 2})
    assert refused.status == 403
    assert refused.body["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"


async def test_cache_clear_drops_the_responses_of_that_source(
    redis_server: RedisServer,
    emulator: Emulator,
    two_sources: list[Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = clear_config(tmp_path, redis_server)
    async with serving(two_sources, redis_cache(redis_server)) as server:
        for sources in (["acme"], ["globex"], ["acme", "globex"]):
            await ask(server, USERS, {"first": 2, "sources": sources})
        args = ["cache", "clear", "--source", "acme", "--config", str(config)]
        assert await asyncio.to_thread(main, args) == 0
        out = capsys.readouterr().out
        assert "cached entries of source 'acme' and 2 cached responses from" in out
        emulator.clear_requests()
        assert (await ask(server, USERS, {"first": 2, "sources": ["globex"]})).hit
        assert emulator.requests == []
        for sources in (["acme"], ["acme", "globex"]):
            assert not (await ask(server, USERS, {"first": 2, "sources": sources})).hit
        assert emulator.count(vendor="kombo") >= 1  # acme's entries went with them
    out = capsys.readouterr().out
    assert REDIS_PASSWORD not in out


async def test_two_instances_on_one_redis_share_responses(
    redis_server: RedisServer, emulator: Emulator, two_sources: list[Any]
) -> None:
    cache = redis_cache(redis_server)
    async with (
        serving(two_sources, cache) as one,
        serving(two_sources, cache) as two,
    ):
        warmed = await ask(one, variables=canonical_vars())
        assert not warmed.hit
        drop_entries(redis_server)
        emulator.clear_requests()
        shared = await ask(two, variables=canonical_vars())
        assert shared.hit
        assert shared.raw == warmed.raw
        assert emulator.requests == []
        # A page's cursor works on the other instance: both sign with the same secret.
        cursor = shared.body["data"]["users"]["pageInfo"]["endCursor"]
        page = await ask(one, variables={"first": 10, "after": cursor})
        assert "errors" not in page.body
    other_secret = ServerSettings(cursor_secret=SecretStr("another secret"))
    async with serving(two_sources, cache, server=other_secret) as three:
        emulator.clear_requests()
        assert not (await ask(three, variables=canonical_vars())).hit


async def test_no_key_or_value_holds_a_credential(
    redis_server: RedisServer, emulator: Emulator, two_sources: list[Any]
) -> None:
    clients = [ClientSettings(name="all", key_sha256=key_sha256(CLIENT_KEYS["all"]))]
    async with serving(two_sources, redis_cache(redis_server), clients=clients) as server:
        keyed = server.with_key(CLIENT_KEYS["all"])
        assert (await ask(keyed, variables=canonical_vars())).status == 200
    client = redis_server.client()
    keys = list(client.scan_iter(match="lms-graph:responses:*"))
    values = [client.get(key) or b"" for key in keys]
    client.close()
    assert len(keys) == 1
    for blob in keys + values:
        for secret in [ACME_KEY, GLOBEX_KEY, REDIS_PASSWORD, CLIENT_KEYS["all"], SECRET]:
            assert secret.encode() not in blob


async def test_refusals_are_the_same_with_the_response_cache(
    emulator: Emulator, acme: KomboTenant
) -> None:
    two_operations = "query A { users(first: 1) { totalCount } } query B { __typename }"
    async with serving([kombo(emulator, acme, "acme")], MEMORY) as server:
        for _ in range(2):  # nothing refused is ever stored
            mutation = await ask(server, "mutation { nothing }", method="GET")
            assert mutation.status == 405
            assert mutation.headers["allow"] == "POST"
            several = await ask(server, two_operations)
            assert several.status == 400
            assert several.body["errors"][0]["extensions"]["code"] == "OPERATION_NAME_REQUIRED"
            invalid = await ask(server, "{ nope }")
            assert invalid.body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
            assert not invalid.hit


async def test_a_request_that_leaves_does_not_cancel_the_run_another_waits_for(
    emulator: Emulator, acme: KomboTenant
) -> None:
    apps: list[Any] = []

    def keep(app: Any) -> Any:
        apps.append(app)
        return app

    async with serving([kombo(emulator, acme, "acme")], MEMORY, wrap=keep) as server:
        (endpoint,) = [r.app for r in apps[0].routes if getattr(r, "path", None) == "/graphql"]
        emulator.latency_seconds = 1.0
        leaving = asyncio.create_task(ask(server, USERS, {"first": 2}))
        staying = asyncio.create_task(ask(server, USERS, {"first": 2}))
        for _ in range(500):  # both wait on the one run in flight
            if endpoint.responses.waiting == 2:
                break
            await asyncio.sleep(0.01)
        assert endpoint.responses.waiting == 2
        leaving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await leaving
        answer = await staying
        emulator.latency_seconds = 0
    assert answer.hit
    assert "errors" not in answer.body
    assert [r.status for r in emulator.requests if r.path == "/lms/users"] == [200]


async def test_one_document_shares_its_response_however_it_is_named(
    emulator: Emulator, acme: KomboTenant, tmp_path: Path
) -> None:
    query = "query Named($first: Int!) { users(first: $first) { edges { node { id } } } }"
    relay = tmp_path / "persisted_queries.json"
    relay.write_text(json.dumps({"relay-users-1": query}), encoding="utf-8")
    documents = DocumentsSettings(manifests=[relay])
    async with serving([kombo(emulator, acme, "acme")], MEMORY, documents=documents) as server:
        free_form = await ask(server, query, {"first": 2})
        assert not free_form.hit
        emulator.clear_requests()
        url = server.url + "/graphql"
        by_id = {"doc_id": "relay-users-1", "variables": {"first": 2}}
        sha = "sha256:" + hashlib.sha256(query.encode()).hexdigest()
        by_hash = {"documentId": sha, "variables": {"first": 2}}
        for payload in (by_id, by_hash):
            async with server.session.post(url, json=payload) as response:
                assert response.headers["x-lms-graph-cache"] == "HIT"
                assert await response.read() == free_form.raw
    assert emulator.requests == []


async def test_the_debug_log_says_why_a_response_was_not_stored(
    emulator: Emulator, two_sources: list[Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "lms_graph.responses")
    async with serving(two_sources, MEMORY) as server:
        await ask(server, "{ __schema { queryType { name } } }")
        await ask(server, "{ sources { name cache { hits } } }")
        await ask(server, "{ sources { name health { ok } } }")
        await ask(server, USERS, {"first": 2})
    messages = [r.getMessage() for r in caplog.records if r.name == "lms_graph.responses"]
    assert messages == [
        "response not stored: it read no cache entry (introspection, or only configuration)",
        "response not stored: it shows the cache counters",
        "response not stored: data was read live (a health check, or a kind whose TTL is 0)",
        "response stored for 30 s (sources acme, globex)",
    ]
