"""The canonical traversal through the real server, connectors and HTTP, against the emulator."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from connectors.sandbox import Emulator, KomboTenant
from tests.e2e.expected import expected_user, live_users, normalise
from tests.harness import CANONICAL_QUERY, GraphQLServer


async def test_canonical_query_returns_the_emulators_data(
    server: GraphQLServer, tenant: KomboTenant
) -> None:
    data = await server.data(CANONICAL_QUERY, {"first": 50})

    users = data["users"]
    expected = [expected_user(tenant.world, "acme", u) for u in live_users(tenant.world)[:50]]
    assert [normalise(edge["node"]) for edge in users["edges"]] == expected
    assert users["totalCount"] is None  # Kombo does not count
    assert users["pageInfo"]["hasNextPage"] is True
    assert users["pageInfo"]["endCursor"] == users["edges"][-1]["cursor"]
    assert any(node["progressions"] for node in expected), "world must exercise progressions"


async def test_second_page_continues_where_the_first_ended(
    server: GraphQLServer, tenant: KomboTenant
) -> None:
    first = await server.data(CANONICAL_QUERY, {"first": 50})
    cursor = first["users"]["pageInfo"]["endCursor"]
    second = await server.data(CANONICAL_QUERY, {"first": 50, "after": cursor})

    expected = [expected_user(tenant.world, "acme", u) for u in live_users(tenant.world)[50:100]]
    assert [normalise(edge["node"]) for edge in second["users"]["edges"]] == expected


def calls_by_path(emulator: Emulator) -> dict[str, int]:
    return dict(Counter(request.path for request in emulator.requests))


def _progressions_of_page(tenant: KomboTenant, start: int, count: int) -> int:
    users = live_users(tenant.world)[start : start + count]
    return sum(
        1
        for user in users
        for row in tenant.world.progressions_of(user.id)
        if row.deleted_at is None
    )


@pytest.mark.parametrize("first", [5, 50, 100])
async def test_upstream_calls_do_not_grow_with_the_page(
    counted_server: GraphQLServer,
    emulator: Emulator,
    tenant: KomboTenant,
    cache_mode: str,
    first: int,
) -> None:
    # One users page; one batched progressions call per 250 progressions (Kombo's page
    # size maximum); one batched courses call (< 100 distinct courses) carrying every
    # revision and skill. Nothing is called per user.
    progression_pages = max(1, math.ceil(_progressions_of_page(tenant, 0, first) / 250))
    cold = {"/lms/users": 1, "/lms/courses": 1, "/lms/course-progressions": progression_pages}
    # Asked again: the same calls without a cache, none with one.
    repeated = cold if cache_mode == "off" else {}
    for expected in (cold, repeated):
        emulator.clear_requests()
        await counted_server.data(CANONICAL_QUERY, {"first": first})
        assert calls_by_path(emulator) == expected
