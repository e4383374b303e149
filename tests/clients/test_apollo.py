"""Apollo Client 4 with its persisted-query link (APQ), seen from the server's side."""

from __future__ import annotations

import hashlib

import pytest

from connectors.sandbox import KomboTenant
from connectors.settings import SourceSettings
from graph.config import CacheSettings
from tests.clients.conftest import run_node
from tests.clients.recording import RequestLog
from tests.e2e.expected import live_users
from tests.harness import CACHES, run_server


# With the memory cache, the third call is answered from the response the second stored.
@pytest.mark.parametrize("cache", CACHES.values(), ids=CACHES.keys())
@pytest.mark.parametrize("method", ["POST", "GET"], ids=["post", "useGETForHashedQueries"])
async def test_apollo_sends_the_hash_then_the_query_once_then_the_hash_alone(
    node: None,
    sources: list[SourceSettings],
    tenant: KomboTenant,
    log: RequestLog,
    method: str,
    cache: CacheSettings,
) -> None:
    async with run_server(sources, cache, wrap=log) as server:
        result = await run_node("apollo_apq.mjs", server.url + "/graphql", method.lower())

    print("\n".join(log.describe()))
    emails = [u.email for u in live_users(tenant.world)[:2]]
    for run in result["results"]:
        assert "data" in run, run
        assert [e["node"]["email"] for e in run["data"]["users"]["edges"]] == emails
    miss, register, hit = log.exchanges
    sha256 = miss.sha256_hash
    assert sha256 is not None
    # 1: hash only; the server does not know it and says so in the words the link retries on.
    assert (miss.method, "query" in miss.payload) == (method, False)
    assert miss.error_codes == ["PERSISTED_QUERY_NOT_FOUND"]
    assert miss.response["errors"][0]["message"] == "PersistedQueryNotFound"
    assert not miss.has_data
    # 2: the link resends with the query (always POST); the server checks and stores it.
    assert (register.method, register.sha256_hash) == ("POST", sha256)
    assert hashlib.sha256(register.payload["query"].encode()).hexdigest() == sha256
    assert (register.status, register.has_data) == (200, True)
    # 3: the second call: the hash alone runs the stored query.
    assert (hit.method, "query" in hit.payload, hit.sha256_hash) == (method, False, sha256)
    assert (hit.status, hit.has_data, hit.error_codes) == (200, True, [])
