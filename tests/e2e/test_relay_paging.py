"""Relay paging through the real server over all four emulated vendors: every argument
combination against the spec's algorithm over the whole merged list, a page whose
sources fail, and arguments too long to be ours."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.sandbox import Emulator
from graph.config import CacheSettings
from tests.e2e.conftest import worlds
from tests.e2e.test_every_source import listed
from tests.harness import DEMO_SOURCES, GraphQLServer, demo_sources, run_server
from tests.relay import relay_reference

PAGE = """
query Page($first: Int, $after: String, $last: Int, $before: String, $sources: [String!]) {
  users(first: $first, after: $after, last: $last, before: $before, sources: $sources) {
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { source remoteId } }
  }
}
"""

Key = tuple[str, str]


def merged_world(emulator: Emulator, sources: list[str]) -> list[Key]:
    """Round-robin over the sources in configuration order, each in its vendor's list
    order, computed from the worlds alone."""
    by_source = worlds(emulator)
    vendor_of = {source: vendor for vendor, source in DEMO_SOURCES.items()}
    queues = [
        [(source, user.id) for user in listed(vendor_of[source], by_source[source])]
        for source in sources
    ]
    merged: list[Key] = []
    while any(queues):
        merged.extend(queue.pop(0) for queue in queues if queue)
    return merged


async def walk(server: GraphQLServer, first: int, **variables: Any) -> tuple[list[Key], list[str]]:
    """Every item and its cursor, paging forwards ``first`` at a time."""
    keys: list[Key] = []
    cursors: list[str] = []
    after = None
    for _ in range(500):
        page = (await server.data(PAGE, {"first": first, "after": after, **variables}))["users"]
        keys.extend((e["node"]["source"], e["node"]["remoteId"]) for e in page["edges"])
        cursors.extend(e["cursor"] for e in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return keys, cursors
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("paging did not end")


COMBOS = [
    # (after, before, first, last) as indices into the merged list (160 users)
    (None, 13, 10, None),  # the case: `before` bounds `first`
    (None, 4, 10, None),
    (17, 90, 20, None),
    (17, 90, None, 6),
    (150, None, None, 6),
    (150, None, None, 250),
    (None, None, 12, 5),
    (30, 120, 40, 7),
    (60, 61, 5, None),
    (61, 60, 5, None),
    (130, None, 50, None),
    (None, 150, None, 3),
    (17, 20, None, 6),  # `last` larger than the window
    (None, None, 3, 10),
]


@pytest.mark.parametrize(("after", "before", "first", "last"), COMBOS)
async def test_every_argument_combination_follows_the_relay_algorithm(
    federated: GraphQLServer,
    everywhere: Emulator,
    after: int | None,
    before: int | None,
    first: int | None,
    last: int | None,
) -> None:
    expected_order = merged_world(everywhere, list(DEMO_SOURCES.values()))
    # `after` cursors from a chain of small pages, `before` ones from a chain of full
    # pages: the two cursors of one query need not come from the same chain.
    small_keys, small = await walk(federated, 9)
    big_keys, big = await walk(federated, 250)
    assert small_keys == big_keys == expected_order

    variables = {
        "first": first,
        "last": last,
        "after": small[after] if after is not None else None,
        "before": big[before] if before is not None else None,
    }
    page = (await federated.data(PAGE, variables))["users"]
    got = [(e["node"]["source"], e["node"]["remoteId"]) for e in page["edges"]]
    info = page["pageInfo"]
    assert (got, info["hasNextPage"], info["hasPreviousPage"]) == relay_reference(
        expected_order, after, before, first, last
    )
    if got:
        assert info["startCursor"] == page["edges"][0]["cursor"]
        assert info["endCursor"] == page["edges"][-1]["cursor"]


async def test_when_the_sources_left_fail_the_end_cursor_resumes_them(
    everywhere: Emulator,
) -> None:
    # No cache: the failure must reach the page, not be hidden by cached vendor pages.
    no_cache = CacheSettings(backend="none")
    async with run_server(demo_sources(everywhere, max_attempts=1), no_cache) as server:
        await _resume_after_failure(server, everywhere)


async def _resume_after_failure(federated: GraphQLServer, everywhere: Emulator) -> None:
    sources = [DEMO_SOURCES["kombo"], DEMO_SOURCES["absorb"]]  # configuration order
    expected_order = merged_world(everywhere, sources)
    keys, cursors = await walk(federated, 250, sources=sources)
    assert keys == expected_order
    # The demo's Absorb has fewer users: past its last one, only Kombo holds users.
    last_absorb = max(i for i, key in enumerate(keys) if key[0] == sources[1])
    start = last_absorb + 3
    assert start < len(keys) - 1

    everywhere.inject_fault("kombo", status=503, times=None)
    variables = {"first": 10, "after": cursors[start], "sources": sources}
    body = await federated.post(PAGE, variables)
    page = body["data"]["users"]
    assert page["edges"] == []
    assert [(e["extensions"]["code"], e["extensions"]["source"]) for e in body["errors"]] == [
        ("SOURCE_UNAVAILABLE", sources[0])
    ]
    assert page["pageInfo"]["hasNextPage"] is True
    resume = page["pageInfo"]["endCursor"]
    assert resume is not None

    everywhere.clear_faults()
    rest, _ = await walk(federated, 250, sources=sources, after=resume)
    assert rest == expected_order[start + 1 :]


async def test_ids_and_cursors_too_long_to_be_ours_cost_no_vendor_call(
    federated: GraphQLServer, everywhere: Emulator
) -> None:
    await federated.data("{ sources { name } }")  # the server is up
    everywhere.clear_requests()
    huge = "A" * 100_000  # far past the ID and cursor bounds, within [limits] max_body_bytes
    for query, variables, code in [
        ("query($id: ID!) { node(id: $id) { id } }", {"id": huge}, "INVALID_ID"),
        ("query($id: ID!) { user(id: $id) { id } }", {"id": "QQ" * 513}, "INVALID_ID"),
        ("query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [huge]}, "INVALID_ID"),
        (PAGE, {"first": 1, "after": huge}, "INVALID_CURSOR"),
        (PAGE, {"first": 1, "before": "B" * 8193}, "INVALID_CURSOR"),
        (PAGE, {"last": 1, "before": huge}, "INVALID_CURSOR"),
    ]:
        body = await federated.post(query, variables)
        assert [e["extensions"]["code"] for e in body["errors"]] == [code], body["errors"]
        assert huge not in body["errors"][0]["message"]
    assert everywhere.count() == 0


async def test_a_malformed_before_is_refused_with_first(federated: GraphQLServer) -> None:
    body = await federated.post(PAGE, {"first": 3, "before": "bm90LWEtY3Vyc29y"})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_CURSOR"]


async def test_a_bad_cursor_on_a_nested_list_costs_no_progressions_call(
    federated: GraphQLServer, everywhere: Emulator
) -> None:
    query = """
    query($before: String) {
      users(first: 2, source: "kombo-demo") {
        edges { node { id progressions(first: 3, before: $before) { edges { cursor } } } }
      }
    }
    """
    everywhere.clear_requests()
    body = await federated.post(query, {"before": "bm90LWEtY3Vyc29y"})
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_CURSOR"] * 2
    assert [e["node"]["progressions"] for e in body["data"]["users"]["edges"]] == [None, None]
    assert everywhere.count("kombo", "/lms/course-progressions") == 0
