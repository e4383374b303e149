"""All four vendors at once, through the real server: merged lists, people, broken sources."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.sandbox import Emulator
from connectors.settings import SourceSettings
from tests.e2e.conftest import worlds
from tests.e2e.expected import decode_id
from tests.harness import DEMO_SOURCES, GraphQLServer, demo_sources, run_server

USERS = """
query($first: Int, $after: String, $sources: [String!]) {
  users(first: $first, after: $after, sources: $sources) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { id source email } }
  }
}
"""

PERSON = """
query($email: String!) {
  person(email: $email) {
    email sources
    users { id source email }
    progressions(first: 250) { totalCount edges { node { id source status } } }
  }
}
"""


def listed_users(emulator: Emulator) -> set[tuple[str, str, str]]:
    """Every user a users list shows: Kombo hides deleted users, the others have none."""
    kombo = DEMO_SOURCES["kombo"]
    return {
        ("User", source, user.id)
        for source, world in worlds(emulator).items()
        for user in world.users
        if source != kombo or user.deleted_at is None
    }


async def walk_users(
    server: GraphQLServer, first: int, sources: list[str] | None = None
) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    after = None
    for _ in range(500):
        variables = {"first": first, "after": after, "sources": sources}
        page = (await server.data(USERS, variables))["users"]
        seen.extend(edge["node"] for edge in page["edges"])
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]
    raise AssertionError("paging did not end")


async def test_users_first_7_pages_every_user_of_every_source_exactly_once(
    federated: GraphQLServer, everywhere: Emulator
) -> None:
    seen = await walk_users(federated, 7)
    ids = [decode_id(node["id"]) for node in seen]
    assert len(ids) == len(set(ids))
    assert set(ids) == listed_users(everywhere)
    assert {node["source"] for node in seen} == set(DEMO_SOURCES.values())


async def test_total_count_sums_the_sources_that_count(
    federated: GraphQLServer, everywhere: Emulator
) -> None:
    counting = [DEMO_SOURCES["absorb"], DEMO_SOURCES["skilljar"]]
    page = (await federated.data(USERS, {"first": 5, "sources": counting}))["users"]
    expected = sum(len(worlds(everywhere)[source].users) for source in counting)
    assert page["totalCount"] == expected
    everything = (await federated.data(USERS, {"first": 5}))["users"]
    assert everything["totalCount"] is None  # Kombo and StackOne cannot count


async def test_a_person_in_several_systems_is_one_person(
    federated: GraphQLServer, everywhere: Emulator
) -> None:
    by_email: dict[str, list[tuple[str, Any]]] = {}
    for source, world in worlds(everywhere).items():
        for user in world.users:
            if source != DEMO_SOURCES["kombo"] or user.deleted_at is None:
                by_email.setdefault(user.email.lower(), []).append((source, user))
    email, accounts = max(by_email.items(), key=lambda item: (len(item[1]), item[0]))
    assert len(accounts) >= 3, "the demo data must share people across vendors"
    shouted = email.upper()

    person = (await federated.data(PERSON, {"email": shouted}))["person"]

    assert person["email"] == email
    assert {decode_id(user["id"]) for user in person["users"]} == {
        ("User", source, user.id) for source, user in accounts
    }
    assert person["sources"] == [s for s in DEMO_SOURCES.values() if s in dict(accounts)]
    sources_with_progress = {edge["node"]["source"] for edge in person["progressions"]["edges"]}
    assert sources_with_progress <= set(person["sources"])
    for edge in person["progressions"]["edges"]:
        owner = next(u for u in person["users"] if u["source"] == edge["node"]["source"])
        assert owner is not None


async def test_user_person_links_an_account_to_its_other_accounts(
    federated: GraphQLServer, everywhere: Emulator
) -> None:
    absorb_world = worlds(everywhere)[DEMO_SOURCES["absorb"]]
    kombo_emails = {u.email.lower() for u in worlds(everywhere)[DEMO_SOURCES["kombo"]].users}
    shared = next(u for u in absorb_world.users if u.email.lower() in kombo_emails)
    node_id = base64.b64encode(f"User:{DEMO_SOURCES['absorb']}:{shared.id}".encode()).decode()
    data = await federated.data(
        "query($id: ID!) { user(id: $id) { person { sources users { source } } } }",
        {"id": node_id},
    )
    sources = data["user"]["person"]["sources"]
    assert DEMO_SOURCES["absorb"] in sources
    assert DEMO_SOURCES["kombo"] in sources


async def test_nobody_has_this_email(federated: GraphQLServer) -> None:
    assert await federated.data(PERSON, {"email": "nobody@nowhere.example"}) == {"person": None}
    body = await federated.post(PERSON, {"email": "not an email"})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"


FAULTS = {
    "SOURCE_UNAVAILABLE": {"status": 503},
    "SOURCE_RATE_LIMITED": {"status": 429, "headers": {"Retry-After": "120"}},
    "SOURCE_BAD_RESPONSE": {"status": 200, "body": "<html>not json</html>"},
}


@pytest.mark.parametrize("code", sorted(FAULTS))
@pytest.mark.parametrize("vendor", sorted(DEMO_SOURCES))
async def test_one_broken_source_never_blanks_the_others(
    federated: GraphQLServer, everywhere: Emulator, vendor: str, code: str
) -> None:
    everywhere.inject_fault(vendor, times=None, **FAULTS[code])  # type: ignore[arg-type]
    body = await federated.post(USERS, {"first": 250})

    broken = DEMO_SOURCES[vendor]
    served = {edge["node"]["source"] for edge in body["data"]["users"]["edges"]}
    assert served == set(DEMO_SOURCES.values()) - {broken}
    (error,) = body["errors"]
    assert error["extensions"]["code"] == code
    assert error["extensions"]["source"] == broken
    assert error["extensions"]["vendor"] == vendor
    assert broken in error["message"]


@pytest.mark.parametrize("vendor", sorted(DEMO_SOURCES))
async def test_bad_credentials_name_the_source(everywhere: Emulator, vendor: str) -> None:
    sources: list[SourceSettings] = []
    for settings in demo_sources(everywhere, max_attempts=1):
        if settings.kind == vendor:
            settings = settings.model_copy(update={"api_key": SecretStr("wrong-key")})
        sources.append(settings)
    async with run_server(sources) as server:
        body = await server.post(USERS, {"first": 250})
    served = {edge["node"]["source"] for edge in body["data"]["users"]["edges"]}
    assert served == set(DEMO_SOURCES.values()) - {DEMO_SOURCES[vendor]}
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "SOURCE_AUTH_FAILED"
    assert error["extensions"]["source"] == DEMO_SOURCES[vendor]
    assert "wrong-key" not in str(body)


async def test_node_ids_route_to_their_source(
    federated: GraphQLServer, everywhere: Emulator
) -> None:
    ids = []
    expected = []
    for source, world in worlds(everywhere).items():
        user = world.users[1]
        ids.append(base64.b64encode(f"User:{source}:{user.id}".encode()).decode())
        expected.append(user.email)
    ids.append(base64.b64encode(b"User:moodle-prod:42").decode())
    body = await federated.post(
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on User { email } } }", {"ids": ids}
    )
    emails = [node["email"] if node else None for node in body["data"]["nodes"]]
    assert emails == [*expected, None]
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INVALID_ID"
    assert "'moodle-prod', which is not configured" in error["message"]
