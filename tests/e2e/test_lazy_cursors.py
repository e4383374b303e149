"""Cursors are encoded only where a query selects them, and are the same bytes however
they are selected: directly, through fragments, under aliases, or beside each other."""

from __future__ import annotations

from typing import Any

from tests.harness import GraphQLServer

EVERYTHING = """
{ users(first: 5) {
    pageInfo { startCursor endCursor }
    edges { cursor node { progressions(first: 3) {
      pageInfo { startCursor endCursor } edges { cursor }
    } } }
} }
"""
PAGE_INFO_ONLY = """
{ users(first: 5) {
    pageInfo { startCursor endCursor }
    edges { node { progressions(first: 3) { pageInfo { startCursor endCursor } } } }
} }
"""
EDGES_ONLY = """
{ users(first: 5) {
    edges { cursor node { progressions(first: 3) { edges { cursor } } } }
} }
"""
THROUGH_FRAGMENTS = """
{ users(first: 5) { ...Page } }
fragment Page on UserConnection {
  pageInfo { ... on PageInfo { s: startCursor } ...End }
  edges { c: cursor node { progressions(first: 3) { ... { edges { ... Edge } } } } }
}
fragment End on PageInfo { e: endCursor }
fragment Edge on ProgressionEdge { c: cursor }
"""


def _inner(data: dict[str, Any], key: str) -> list[Any]:
    return [edge["node"]["progressions"][key] for edge in data["users"]["edges"]]


async def test_cursors_are_the_same_however_they_are_selected(federated: GraphQLServer) -> None:
    everything = await federated.data(EVERYTHING)
    page_info = await federated.data(PAGE_INFO_ONLY)
    edges = await federated.data(EDGES_ONLY)
    fragments = await federated.data(THROUGH_FRAGMENTS)

    cursors = [edge["cursor"] for edge in everything["users"]["edges"]]
    assert len(cursors) == 5
    assert all(cursors)
    assert len(set(cursors)) == 5
    info = everything["users"]["pageInfo"]
    assert (info["startCursor"], info["endCursor"]) == (cursors[0], cursors[-1])
    assert page_info["users"]["pageInfo"] == info
    assert [edge["cursor"] for edge in edges["users"]["edges"]] == cursors
    assert [edge["c"] for edge in fragments["users"]["edges"]] == cursors
    assert fragments["users"]["pageInfo"] == {"s": cursors[0], "e": cursors[-1]}

    inner = [[edge["cursor"] for edge in page] for page in _inner(everything, "edges")]
    assert any(inner)
    assert all(all(page) for page in inner)
    inner_info = _inner(everything, "pageInfo")
    assert inner_info == [
        {"startCursor": page[0] if page else None, "endCursor": page[-1] if page else None}
        for page in inner
    ]
    assert _inner(page_info, "pageInfo") == inner_info
    assert [[edge["cursor"] for edge in page] for page in _inner(edges, "edges")] == inner
    assert [[edge["c"] for edge in page] for page in _inner(fragments, "edges")] == inner


async def test_an_end_cursor_selected_alone_pages_on(federated: GraphQLServer) -> None:
    query = "query($after: String) { users(first: 3, after: $after) { %s } }"
    both = await federated.data(query % "pageInfo { endCursor } edges { cursor }")
    alone = await federated.data(query % "pageInfo { endCursor }")
    end = alone["users"]["pageInfo"]["endCursor"]
    assert end == both["users"]["edges"][-1]["cursor"]
    ids = "edges { node { id } }"
    six = await federated.data((query % ids).replace("first: 3", "first: 6"))
    nxt = await federated.data(query % ids, {"after": end})
    assert nxt["users"]["edges"] == six["users"]["edges"][3:]
