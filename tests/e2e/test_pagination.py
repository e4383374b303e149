"""Relay pagination through the real server: forwards, backwards, across sources."""

from __future__ import annotations

import pytest

from connectors.sandbox import Emulator, KomboTenant
from tests.e2e.expected import decode_id, live_users
from tests.harness import GraphQLServer, kombo_source, run_server

PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String, $sources: [String!]) {
  users(first: $first, after: $after, last: $last, before: $before, sources: $sources) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id source remoteId email } }
  }
}
"""


async def _walk(server: GraphQLServer, first: int, **variables: object) -> list[dict[str, object]]:
    seen: list[dict[str, object]] = []
    after = None
    for _ in range(200):
        page = (await server.data(PAGE, {"first": first, "after": after, **variables}))["users"]
        seen.extend(edge["node"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize("first", [7, 50, 250])
async def test_paging_forward_visits_every_user_once_in_order(
    server: GraphQLServer, tenant: KomboTenant, first: int
) -> None:
    seen = await _walk(server, first)
    assert [node["remoteId"] for node in seen] == [u.id for u in live_users(tenant.world)]


async def test_paging_backward_mirrors_paging_forward(
    server: GraphQLServer, tenant: KomboTenant
) -> None:
    forward = (await server.data(PAGE, {"first": 30}))["users"]
    before = forward["edges"][20]["cursor"]
    backward = (await server.data(PAGE, {"last": 5, "before": before}))["users"]

    assert [e["node"]["remoteId"] for e in backward["edges"]] == [
        e["node"]["remoteId"] for e in forward["edges"][15:20]
    ]
    assert backward["pageInfo"]["hasPreviousPage"] is True
    assert backward["pageInfo"]["hasNextPage"] is True
    tail = (await server.data(PAGE, {"last": 3}))["users"]
    assert [e["node"]["remoteId"] for e in tail["edges"]] == [
        u.id for u in live_users(tenant.world)[-3:]
    ]
    assert tail["pageInfo"]["hasNextPage"] is False


async def test_two_sources_interleave_and_page_to_the_end_without_repeats(
    emulator: Emulator, tenant: KomboTenant, second_tenant: KomboTenant
) -> None:
    sources = [
        kombo_source("acme", emulator, tenant),
        kombo_source("globex", emulator, second_tenant),
    ]
    async with run_server(sources) as server:
        seen = await _walk(server, 7)
        only_globex = await _walk(server, 10, sources=["globex"])

    keys = [(node["source"], node["remoteId"]) for node in seen]
    expected = {("acme", u.id) for u in live_users(tenant.world)} | {
        ("globex", u.id) for u in live_users(second_tenant.world)
    }
    assert len(keys) == len(set(keys)) == len(expected)
    assert set(keys) == expected
    assert [node["source"] for node in seen[:4]] == ["acme", "globex", "acme", "globex"]
    assert {decode_id(str(node["id"]))[1] for node in seen} == {"acme", "globex"}
    assert [node["remoteId"] for node in only_globex] == [
        u.id for u in live_users(second_tenant.world)
    ]
