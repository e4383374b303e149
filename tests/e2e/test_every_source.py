"""The canonical traversal for each vendor, field by field against its emulator's world,
and the vendor calls it costs, with all four sources configured at once."""

from __future__ import annotations

import math
from typing import Any

import pytest

from connectors.sandbox import Emulator, World
from tests.e2e.conftest import worlds
from tests.e2e.expected import (
    content_completion_ids,
    expected_user,
    expected_vendor_user,
    kombo_progression_calls,
    live_users,
    normalise,
    served_progressions,
)
from tests.harness import DEMO_SOURCES, GraphQLServer

QUERY = """
query($first: Int!, $sources: [String!]) {
  users(first: $first, sources: $sources) {
    edges { node {
      id firstName lastName email
      progressions(first: 50) {
        edges { node {
          id status
          revision { id title status course { id title skills { id name } } }
        } }
      }
    } }
  }
}
"""


def listed(vendor: str, world: World) -> list[Any]:
    """Users in list order: Kombo hides deleted users, the others have no deletes."""
    return live_users(world) if vendor == "kombo" else list(world.users)


def expected(vendor: str, world: World, user: Any) -> dict[str, Any]:
    source = DEMO_SOURCES[vendor]
    if vendor != "kombo":
        return expected_vendor_user(world, vendor, source, user)
    node = expected_user(world, source, user, progressions=50)
    for row in node["progressions"]:
        del row["enrolledAt"], row["completedAt"]  # not asked for here
    node["progressions"].sort(key=lambda row: row["id"])
    return node


@pytest.mark.parametrize("vendor", sorted(DEMO_SOURCES))
async def test_canonical_query_per_source_matches_the_world(
    federated: GraphQLServer, everywhere: Emulator, vendor: str
) -> None:
    world = worlds(everywhere)[DEMO_SOURCES[vendor]]
    data = await federated.data(QUERY, {"first": 40, "sources": [DEMO_SOURCES[vendor]]})

    got = [normalise(edge["node"]) for edge in data["users"]["edges"]]
    for node in got:
        node["progressions"].sort(key=lambda row: row["id"])
    want = [expected(vendor, world, user) for user in listed(vendor, world)[:40]]
    assert got == want
    assert sum(len(node["progressions"]) for node in want) > 40, "world must exercise progress"


def calls_by_path(emulator: Emulator, vendor: str) -> dict[str, int]:
    counted: dict[str, int] = {}
    for request in emulator.requests:
        if request.vendor == vendor:
            counted[request.path] = counted.get(request.path, 0) + 1
    return counted


def per_kind(calls: dict[str, int], prefix: str) -> int:
    return sum(n for path, n in calls.items() if path.startswith(prefix))


def expected_calls(vendor: str, world: World, first: int) -> dict[str, int]:
    """A cold page's vendor calls per path, from the vendor's batching rules."""
    users = listed(vendor, world)[:first]
    rows = [p for u in users for p in served_progressions(world, u)]
    if vendor == "stackone":
        rows = [p for p in rows if p.status != "DROPPED"]  # not served: no such state
    courses = sorted({p.course_id for p in rows})
    if vendor == "kombo":
        return {
            "/lms/users": 1,
            "/lms/course-progressions": kombo_progression_calls(world, users),
            "/lms/courses": 1,
        }
    if vendor == "absorb":
        # one login, one users page, bulk enrolments per 50 users, courses per 50 IDs
        return {
            "/authenticate": 1,
            "/users": 1,
            "/bulk/studentcourses": math.ceil(len(users) / 50),
            "/courses": math.ceil(len(courses) / 50),
        }
    if vendor == "skilljar":
        # no batch endpoints: the fan-out of this one page (a progress call per user, a
        # course call per course), plus the domain's published courses once
        return {
            "/v1/users": 1,
            "/v1/domains/academy.demo.example/published-courses": 1,
            **{f"/v1/users/{u.id}/published-courses": 1 for u in users},
            **{f"/v1/courses/{c}": 1 for c in courses},
        }
    # per user its assignments and completions; per course one call; content items
    # only for completions recorded on content (see expected.content_completion_ids)
    content = {p.course_id for p in rows if p.id in content_completion_ids(world)}
    return {
        "/unified/lms/users": 1,
        **{f"/unified/lms/users/{u.id}/assignments": 1 for u in users},
        **{f"/unified/lms/users/{u.id}/completions": 1 for u in users},
        **{f"/unified/lms/courses/{c}": 1 for c in courses},
        **{f"/unified/lms/content/{c}c1": 1 for c in sorted(content)},
    }


@pytest.mark.parametrize("first", [5, 40])
@pytest.mark.parametrize("vendor", sorted(DEMO_SOURCES))
async def test_vendor_calls_stay_bounded_per_source(
    federated_counted: GraphQLServer,
    everywhere: Emulator,
    cache_mode: str,
    vendor: str,
    first: int,
) -> None:
    world = worlds(everywhere)[DEMO_SOURCES[vendor]]
    cold = expected_calls(vendor, world, first)
    # Asked again: without a cache the same calls (Absorb keeps its token), with the
    # memory cache none at all.
    again = {path: n for path, n in cold.items() if path != "/authenticate"}
    for expected in (cold, again if cache_mode == "off" else {}):
        everywhere.clear_requests()
        await federated_counted.data(QUERY, {"first": first, "sources": [DEMO_SOURCES[vendor]]})
        assert calls_by_path(everywhere, vendor) == expected


@pytest.mark.parametrize(("vendor", "default"), [("skilljar", 10), ("stackone", 16)])
async def test_fan_out_reaches_the_vendors_concurrency_and_no_further(
    federated: GraphQLServer, everywhere: Emulator, vendor: str, default: int
) -> None:
    # Each source runs at its vendor's default max_concurrency: a page of 30 users fans
    # out to more calls than that, and at most that many are ever in flight at once.
    everywhere.latency_seconds = 0.1  # calls last long enough to pile up
    everywhere.clear_requests()
    await federated.data(QUERY, {"first": 30, "sources": [DEMO_SOURCES[vendor]]})
    assert everywhere.count() > default
    assert everywhere.peak_in_flight == default
