"""``[server] federation = true`` through the real server: ``_entities`` by ID and by
email against the emulator's world, its vendor calls beside ``nodes(ids:)``'s, client
scopes, bad representations, limits; and no federation field with federation off."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest

from connectors.sandbox import Emulator, KomboTenant
from graph.clients import key_sha256
from graph.config import ClientSettings, LimitsSettings, ServerSettings
from tests.e2e.expected import live_users
from tests.e2e.test_people import accounts_by_email
from tests.harness import (
    CACHES,
    DEMO_SOURCES,
    GraphQLServer,
    demo_sources,
    kombo_source,
    run_server,
)

SUBGRAPH = ServerSettings(federation=True)
COSTED = LimitsSettings(report_cost=True)
ENTITIES = """
query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on User { id source remoteId email firstName }
    ... on Course { id title }
  }
}
"""
NODES = """
query($ids: [ID!]!) {
  nodes(ids: $ids) { __typename ... on User { id source remoteId email firstName } }
}
"""


def gid(type_name: str, key: str, source: str = "acme") -> str:
    return base64.b64encode(f"{type_name}:{source}:{key}".encode()).decode()


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


def calls(emulator: Emulator) -> list[tuple[str, str, int]]:
    """(vendor, path, IDs asked) of each logged vendor request."""
    return [
        (r.vendor, r.path, len(r.query["ids"].split(",")) if "ids" in r.query else 0)
        for r in emulator.requests
    ]


@pytest.fixture
async def subgraph(
    emulator: Emulator, tenant: KomboTenant, cache_mode: str
) -> AsyncIterator[GraphQLServer]:
    source = kombo_source("acme", emulator, tenant)
    async with run_server([source], CACHES[cache_mode], server=SUBGRAPH, limits=COSTED) as running:
        yield running


@pytest.fixture
async def everywhere_subgraph(everywhere: Emulator) -> AsyncIterator[GraphQLServer]:
    sources = demo_sources(everywhere, max_attempts=1)
    async with run_server(sources, server=SUBGRAPH, limits=COSTED) as running:
        yield running


def fifty_users(tenant: KomboTenant) -> tuple[list[Any], list[str]]:
    """48 users and two unknown IDs among them (positions 3 and 40), in that order."""
    users: list[Any] = live_users(tenant.world)[:48]
    users.insert(3, None)
    users.insert(40, None)
    ids = [gid("User", u.id) if u else gid("User", f"nobody-{i}") for i, u in enumerate(users)]
    return users, ids


async def test_fifty_users_by_id_cost_what_fifty_nodes_cost(
    subgraph: GraphQLServer, emulator: Emulator, tenant: KomboTenant, cache_mode: str
) -> None:
    users, ids = fifty_users(tenant)
    representations = [{"__typename": "User", "id": node_id} for node_id in ids]

    emulator.clear_requests()
    body = await subgraph.post(ENTITIES, {"representations": representations})
    entity_calls = calls(emulator)
    emulator.clear_requests()
    nodes = (await subgraph.data(NODES, {"ids": ids}))["nodes"]
    node_calls = calls(emulator)

    assert "errors" not in body, body["errors"]
    entities = body["data"]["_entities"]
    assert entities == nodes
    assert [e and (e["id"], e["remoteId"], e["email"]) for e in entities] == [
        u and (node_id, u.id, u.email) for u, node_id in zip(users, ids, strict=True)
    ]
    assert entities[3] is None
    assert entities[40] is None
    # One batched call for all fifty, unknown IDs included, as for nodes(ids:); the
    # memory cache then answers nodes(ids:) from what _entities read.
    assert entity_calls == [("kombo", "/lms/users", 50)]
    assert node_calls == (entity_calls if cache_mode == "off" else [])
    cost = body["extensions"]["cost"]
    assert cost["actual"] == {"acme": 1}
    assert cost["estimated"] == {"acme": 50}  # priced per representation, as nodes are


async def test_users_by_email_first_account_in_source_order(
    everywhere_subgraph: GraphQLServer, everywhere: Emulator
) -> None:
    people = sorted(accounts_by_email(everywhere).items())
    shared = [(email, accounts) for email, accounts in people if len(accounts) > 1]
    assert len(shared) >= 5, "the demo world must have people in several sources"
    chosen = (shared[:20] + [p for p in people if len(p[1]) == 1])[:48]
    emails: list[str | None] = [email for email, _ in chosen]
    emails.insert(7, None)
    emails.insert(30, None)
    representations = [
        {"__typename": "User", "email": (email.upper() if i % 2 else email) if email else
         f"nobody-{i}@example.com"}
        for i, email in enumerate(emails)
    ]  # fmt: skip

    everywhere.clear_requests()
    body = await everywhere_subgraph.post(ENTITIES, {"representations": representations})

    assert "errors" not in body, body["errors"]
    got = body["data"]["_entities"]
    wanted = dict(chosen)
    assert len(got) == 50
    for entity, email in zip(got, emails, strict=True):
        if email is None:
            assert entity is None
            continue
        source, user = wanted[email][0]  # the first account in source configuration order
        assert (entity["source"], entity["remoteId"]) == (source, user.id), email
        assert entity["email"].lower() == email
    # Every source asked once per batch of emails: a batched vendor in one call, one
    # without batch look-ups once per email; the estimate priced exactly that (Absorb's
    # login, made once per token, is not priced).
    per_source = {
        source: [r.path for r in everywhere.requests if r.vendor == vendor]
        for vendor, source in DEMO_SOURCES.items()
    }
    kombo, absorb, skilljar, stackone = per_source.values()
    assert (kombo, sorted(absorb)) == (["/lms/users"], ["/authenticate", "/users"])
    assert len(skilljar) == len(stackone) == 48 + 2
    counted = {source: len(paths) for source, paths in per_source.items()}
    assert body["extensions"]["cost"]["actual"] == counted
    assert body["extensions"]["cost"]["estimated"] == {**counted, DEMO_SOURCES["absorb"]: 1}


ADMIN_KEY, KOMBO_KEY = "subgraph-admin-key", "subgraph-kombo-key"
CLIENTS = [
    ClientSettings(name="router", key_sha256=key_sha256(ADMIN_KEY)),
    ClientSettings(
        name="kombo-router", key_sha256=key_sha256(KOMBO_KEY), sources=[DEMO_SOURCES["kombo"]]
    ),
]


async def test_a_clients_sources_bound_its_entities(everywhere: Emulator) -> None:
    kombo, absorb = DEMO_SOURCES["kombo"], DEMO_SOURCES["absorb"]
    people = accounts_by_email(everywhere)
    # Someone with an Absorb account first and no Kombo account, and someone in Kombo.
    absorb_only = next(accounts for accounts in people.values() if accounts[0][0] == absorb)[0][1]
    in_kombo = next(accounts for accounts in people.values() if accounts[0][0] == kombo)[0][1]
    representations = [
        {"__typename": "User", "id": gid("User", in_kombo.id, kombo)},
        {"__typename": "User", "id": gid("User", absorb_only.id, absorb)},
        {"__typename": "User", "email": absorb_only.email},
        {"__typename": "User", "email": in_kombo.email},
    ]
    sources = demo_sources(everywhere, max_attempts=1)
    async with run_server(sources, server=SUBGRAPH, clients=CLIENTS) as server:
        everyone = await server.with_key(ADMIN_KEY).post(
            ENTITIES, {"representations": representations}
        )
        everywhere.clear_requests()
        scoped = await server.with_key(KOMBO_KEY).post(
            ENTITIES, {"representations": representations}
        )

    assert "errors" not in everyone, everyone["errors"]
    assert [e["source"] for e in everyone["data"]["_entities"]] == [kombo, absorb, absorb, kombo]
    # The Absorb account does not exist for a Kombo-only client: its ID is refused as an
    # unknown source's, its email finds nobody, and Absorb is never called.
    got = scoped["data"]["_entities"]
    assert [e and e["source"] for e in got] == [kombo, None, None, kombo]
    assert [(e["path"], e["extensions"]["code"]) for e in scoped["errors"]] == [
        (["_entities", 1], "INVALID_ID")
    ]
    assert {r.vendor for r in everywhere.requests} == {"kombo"}


BAD = [
    ("a string", "INVALID_ARGUMENT"),
    ({"id": "x"}, "INVALID_ARGUMENT"),
    ({"__typename": "Person", "email": "ann@example.com"}, "INVALID_ARGUMENT"),
    ({"__typename": "Course"}, "INVALID_ARGUMENT"),
    ({"__typename": "Course", "email": "ann@example.com"}, "INVALID_ARGUMENT"),
    ({"__typename": "User", "id": 42}, "INVALID_ARGUMENT"),
    ({"__typename": "User", "id": "not base64 at all!"}, "INVALID_ID"),
    ({"__typename": "User", "email": "not an email"}, "INVALID_ARGUMENT"),
]


async def test_bad_representations_answer_null_with_a_code_in_place(
    emulator: Emulator, tenant: KomboTenant
) -> None:
    user = live_users(tenant.world)[0]
    course = tenant.world.courses[0]
    good = {"__typename": "User", "id": gid("User", user.id)}
    representations: list[Any] = [good]
    for representation, _ in BAD:
        representations += [representation, good]
    representations += [
        {"__typename": "User", "id": gid("Course", course.id)},  # another type's ID
        {"__typename": "Course", "id": gid("Course", course.id)},
        {"__typename": "User", "id": gid("User", user.id, "elsewhere")},  # unknown source
    ]

    async with run_server([kombo_source("acme", emulator, tenant)], server=SUBGRAPH) as server:
        emulator.clear_requests()
        body = await server.post(ENTITIES, {"representations": representations})

    got = body["data"]["_entities"]
    assert len(got) == len(representations)
    for index, entity in enumerate(got):
        if representations[index] is good:
            assert entity["remoteId"] == user.id, index
    assert got[-1] is None
    assert got[-2] == {"__typename": "Course", "id": representations[-2]["id"], "title": ANY}
    assert got[-3] is None
    errors = {tuple(e["path"]): e for e in body["errors"]}
    bad_at = [("_entities", 2 * i + 1) for i in range(len(BAD))]
    wrong_type, unknown_source = ("_entities", len(got) - 3), ("_entities", len(got) - 1)
    assert sorted(errors) == sorted([*bad_at, wrong_type, unknown_source])
    for path, (_, code) in zip(bad_at, BAD, strict=True):
        assert got[path[1]] is None
        assert errors[path]["extensions"]["code"] == code, path
    assert "not an object" in errors[bad_at[0]]["message"]
    assert errors[wrong_type]["extensions"]["code"] == "INVALID_ID"
    assert errors[unknown_source]["extensions"]["code"] == "INVALID_ID"
    # One call for the users, one for the course: bad representations cost nothing.
    assert sorted(r.path for r in emulator.requests) == ["/lms/courses", "/lms/users"]


@pytest.mark.parametrize(
    ("limits", "refused_count", "code"),
    [
        (LimitsSettings(), 251, "INVALID_ARGUMENT"),  # the default bound: 250
        (LimitsSettings(max_representations=12), 13, "INVALID_ARGUMENT"),
        (LimitsSettings(max_cost=40), 41, "QUERY_TOO_COSTLY"),  # each one priced
    ],
    ids=["default-bound", "configured-bound", "cost"],
)
async def test_representations_are_bounded_and_priced(
    emulator: Emulator, tenant: KomboTenant, limits: LimitsSettings, refused_count: int, code: str
) -> None:
    source = kombo_source("acme", emulator, tenant)
    many = [{"__typename": "User", "id": gid("User", f"u{i}")} for i in range(refused_count)]
    async with run_server([source], server=SUBGRAPH, limits=limits) as server:
        emulator.clear_requests()
        refused = await server.post(ENTITIES, {"representations": many})
        affordable = await server.post(ENTITIES, {"representations": many[:12]})

    assert codes(refused) == [code]
    if code == "QUERY_TOO_COSTLY":
        assert refused["errors"][0]["extensions"]["cost"] == {"acme": 41}
    else:
        bound = refused_count - 1
        assert refused["errors"][0]["message"] == (
            f"`representations` takes at most {bound}, got {refused_count}"
        )
    assert affordable["data"]["_entities"] == [None] * 12
    assert [r.path for r in emulator.requests] == ["/lms/users"]  # the affordable one only


SUBGRAPH_FILE = Path(__file__).resolve().parents[2] / "schema.federation.graphql"


async def test_service_serves_the_committed_subgraph_sdl(
    emulator: Emulator, tenant: KomboTenant
) -> None:
    async with run_server([kombo_source("acme", emulator, tenant)], server=SUBGRAPH) as server:
        emulator.clear_requests()
        sdl = (await server.data("{ _service { sdl } }"))["_service"]["sdl"]
    assert sdl + "\n" == SUBGRAPH_FILE.read_text(encoding="utf-8")
    assert emulator.requests == []


async def test_without_federation_there_is_no_subgraph_field(server: GraphQLServer) -> None:
    for query in (
        "{ _service { sdl } }",
        '{ _entities(representations: [{__typename: "User", id: "x"}]) { __typename } }',
    ):
        status, body, _ = await server.send(query)
        assert status == 200
        assert body.get("data") is None
        assert codes(body) == ["GRAPHQL_VALIDATION_FAILED"], body
        assert "Cannot query field" in body["errors"][0]["message"]
    types = await server.data(
        '{ __type(name: "_Entity") { name } _Any: __type(name: "_Any") { name } }'
    )
    assert types == {"__type": None, "_Any": None}


EVERY_TYPE = """
fragment All on Node {
  __typename id
  ... on User { email }
  ... on Course { title provider { id } }
  ... on Revision { title course { remoteId } }
  ... on Skill { name }
  ... on Progression { status user { remoteId } }
  ... on Provider { name }
}
query($ids: [ID!]!, $representations: [_Any!]!) {
  nodes(ids: $ids) { ...All }
  _entities(representations: $representations) { ... on Node { ...All } }
}
"""


async def test_every_entity_type_resolves_as_its_node(
    emulator: Emulator, tenant: KomboTenant
) -> None:
    world = tenant.world
    course = next(c for c in world.courses if c.provider_id and c.deleted_at is None)
    typed = [
        ("User", world.users[0].id),
        ("Course", course.id),
        ("Revision", f"{course.id}/{course.revisions[-1].id}"),
        ("Skill", world.skills[0].id),
        ("Progression", world.progressions[0].id),
        ("Provider", course.provider_id or ""),
    ]
    ids = [gid(type_name, key) for type_name, key in typed]
    representations = [
        {"__typename": type_name, "id": node_id}
        for (type_name, _), node_id in zip(typed, ids, strict=True)
    ]
    async with run_server([kombo_source("acme", emulator, tenant)], server=SUBGRAPH) as server:
        data = await server.data(EVERY_TYPE, {"ids": ids, "representations": representations})

    assert [entity["__typename"] for entity in data["_entities"]] == [t for t, _ in typed]
    assert data["_entities"] == data["nodes"]
    assert all(data["nodes"])
