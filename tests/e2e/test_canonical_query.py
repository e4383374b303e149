"""The canonical traversal through the real server, connectors and HTTP, against the emulator."""

from __future__ import annotations

from collections import Counter

import pytest

from connectors.sandbox import Emulator, KomboTenant, sequential_round_trips
from tests.e2e.expected import expected_user, kombo_progression_calls, live_users, normalise
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


@pytest.mark.parametrize("first", [5, 50, 100])
async def test_upstream_calls_do_not_grow_with_the_page(
    counted_server: GraphQLServer,
    emulator: Emulator,
    tenant: KomboTenant,
    cache_mode: str,
    first: int,
) -> None:
    # One users page; batched progressions calls of 25 users each (each expected to fit
    # one page of 250, Kombo's page size maximum); one batched courses call (< 100
    # distinct courses) carrying every revision and skill. Nothing is called per user.
    users = live_users(tenant.world)[:first]
    progression_calls = kombo_progression_calls(tenant.world, users)
    cold = {"/lms/users": 1, "/lms/courses": 1, "/lms/course-progressions": progression_calls}
    # Asked again: the same calls without a cache, none with one.
    repeated = cold if cache_mode == "off" else {}
    for expected in (cold, repeated):
        emulator.clear_requests()
        await counted_server.data(CANONICAL_QUERY, {"first": first})
        assert calls_by_path(emulator) == expected


async def test_a_cold_page_takes_three_round_trips_in_a_row(
    server: GraphQLServer, emulator: Emulator, tenant: KomboTenant
) -> None:
    # users, then every progressions chunk at once, then courses: the two progressions
    # calls of 50 users overlap instead of the second waiting for the first.
    users = live_users(tenant.world)[:50]
    assert kombo_progression_calls(tenant.world, users) == 2
    emulator.latency_seconds = 0.2  # each call lasts long enough to see what overlaps
    emulator.clear_requests()
    await server.data(CANONICAL_QUERY, {"first": 50})
    progressions = [r for r in emulator.requests if r.path == "/lms/course-progressions"]
    assert len(progressions) == 2
    assert max(r.received_at for r in progressions) < min(
        r.received_at + r.seconds for r in progressions
    )
    assert sequential_round_trips(emulator.requests) == 3
