"""The cost estimate: each connector's declared prices applied to a query, per source."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from graphql import FragmentDefinitionNode, OperationDefinitionNode, parse

from connectors.settings import build_connector
from graph.config import demo_config
from graph.cost import QueryTooLarge, estimate_cost
from graph.schema import schema
from resolvers.sources import SourceRegistry

KOMBO, ABSORB, SKILLJAR, STACKONE = "kombo-demo", "absorb-demo", "skilljar-demo", "stackone-demo"


@pytest.fixture(scope="module")
def registry() -> SourceRegistry:
    """The demo's four real connectors (never opened: pricing reads only their tables)."""
    return SourceRegistry([build_connector(source) for source in demo_config().sources])


def price(
    registry: SourceRegistry, query: str, variables: dict[str, Any] | None = None
) -> dict[str, int]:
    document = parse(query)
    (operation,) = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    return estimate_cost(schema._schema, operation, fragments, variables, registry)


BIG = """query($n: Int) { users(first: $n) { edges { node {
  progressions(first: $n) { edges { node { id } } } } } } }"""


def test_a_nested_page_is_priced_per_vendor(registry: SourceRegistry) -> None:
    """users(first:250){progressions(first:250)}: 62,500 progressions of 250 users."""
    assert price(registry, BIG, {"n": 250}) == {
        # 1 users page; 100 user IDs per call, but 62,500 results in pages of 250
        KOMBO: 1 + 250,
        # 1 users page of up to 1000; bulk enrolments of 50 users per call
        ABSORB: 1 + 5,
        # 3 users pages of 100; one progress call per user
        SKILLJAR: 3 + 250,
        # 3 users pages of 100; assignments and completions per user
        STACKONE: 3 + 500,
    }
    assert price(registry, BIG, {"n": 10}) == {KOMBO: 2, ABSORB: 2, SKILLJAR: 11, STACKONE: 21}


def test_selected_sources_only(registry: SourceRegistry) -> None:
    query = '{ users(first: 10, sources: ["kombo-demo", "stackone-demo"]) { totalCount } }'
    assert price(registry, query) == {KOMBO: 1, STACKONE: 1}
    assert price(registry.scoped([SKILLJAR]), "{ users { totalCount } }") == {SKILLJAR: 1}


def test_fragments_and_aliases_add_up(registry: SourceRegistry) -> None:
    query = """
    { a: users(first: 5, source: "skilljar-demo") { ...P }
      b: users(first: 5, source: "skilljar-demo") { edges { node { ... on User {
           progressions { edges { node { id } } } } } } } }
    fragment P on UserConnection { edges { node { progressions { edges { node { id } } } } } }
    """
    assert price(registry, query) == {SKILLJAR: 2 * (1 + 5)}


def test_relations_below_progressions(registry: SourceRegistry) -> None:
    query = """{ progressions(first: 100, source: "stackone-demo") { edges { node {
      user { id } revision { id course { id } } } } } }"""
    # a page of 100 (users, then 2 per user), users and courses one call per ID;
    # a revision's course is read with the revision: no further call
    assert price(registry, query) == {STACKONE: (1 + 200) + 100 + 100}


def _id(type_name: str, source: str, key: str = "42") -> str:
    return base64.b64encode(f"{type_name}:{source}:{key}".encode()).decode()


def test_nodes_are_priced_at_their_source(registry: SourceRegistry) -> None:
    ids = [_id("User", KOMBO), _id("Course", STACKONE), _id("User", "unknown"), "junk"]
    query = f"{{ nodes(ids: {list(ids)!r}) {{ id }} }}".replace("'", '"')
    assert price(registry, query) == {KOMBO: 1, STACKONE: 1}
    assert price(registry.scoped([KOMBO]), query) == {KOMBO: 1}
    one = f'{{ user(id: "{_id("User", SKILLJAR)}") {{ progressions {{ totalCount }} }} }}'
    assert price(registry, one) == {SKILLJAR: 2}


def test_health_costs_one_call_per_source_and_alias(registry: SourceRegistry) -> None:
    query = "{ " + " ".join(f"a{i}: sources {{ health {{ ok }} }}" for i in range(10)) + " }"
    assert price(registry, query) == dict.fromkeys([KOMBO, ABSORB, SKILLJAR, STACKONE], 10)


def test_backward_pages_read_from_the_start(registry: SourceRegistry) -> None:
    assert price(registry, '{ users(last: 5, source: "kombo-demo") { totalCount } }') == {
        KOMBO: 20  # up to 5,000 items read forwards in pages of 250
    }


def test_free_fields_cost_nothing(registry: SourceRegistry) -> None:
    assert price(registry, "{ sources { name kind } __typename }") == {}


def test_fragment_bombs_are_not_walked(registry: SourceRegistry) -> None:
    levels = 20
    fragments = "".join(
        f"fragment F{i} on Query {{ ...F{i + 1} a{i}: __typename ...F{i + 1} }}\n"
        for i in range(levels)
    )
    query = "{ ...F0 }\n" + fragments + f"fragment F{levels} on Query {{ __typename }}"
    with pytest.raises(QueryTooLarge):
        price(registry, query)
