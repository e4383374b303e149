"""A person's progressions across their accounts, compared with each vendor's world."""

from __future__ import annotations

from itertools import groupby
from typing import Any

from connectors.sandbox import Emulator
from tests.e2e.conftest import worlds
from tests.e2e.expected import decode_id, expected_vendor_user
from tests.harness import DEMO_SOURCES, GraphQLServer

PERSON = """
query($email: String!) {
  person(email: $email) {
    sources
    progressions(first: 250) { totalCount edges { node { id source status } } }
  }
}
"""

VENDOR_OF = {source: vendor for vendor, source in DEMO_SOURCES.items()}


def accounts_by_email(emulator: Emulator) -> dict[str, list[tuple[str, Any]]]:
    """Every listed account per lower-cased email, in source configuration order."""
    found: dict[str, list[tuple[str, Any]]] = {}
    for source, world in worlds(emulator).items():
        for user in world.users:
            if VENDOR_OF[source] != "kombo" or user.deleted_at is None:
                found.setdefault(user.email.lower(), []).append((source, user))
    return found


def expected_progressions(emulator: Emulator, source: str, user: Any) -> list[tuple[Any, ...]]:
    """(global ID parts, status) of one account's progressions, from the world."""
    world = worlds(emulator)[source]
    if VENDOR_OF[source] == "kombo":
        rows = [p for p in world.progressions_of(user.id) if p.deleted_at is None]
        return [(("Progression", source, p.id), p.status) for p in rows]
    node = expected_vendor_user(world, VENDOR_OF[source], source, user)
    return [(p["id"], p["status"]) for p in node["progressions"]]


async def test_a_persons_progressions_are_every_accounts_progressions(
    federated: GraphQLServer, everywhere: Emulator
) -> None:
    people = accounts_by_email(everywhere)
    # The person with the most accounts, then the most progressions: it must span vendors.
    email, accounts = max(
        people.items(),
        key=lambda item: (
            len(item[1]),
            sum(len(expected_progressions(everywhere, s, u)) for s, u in item[1]),
        ),
    )
    assert len(accounts) >= 3
    want = {source: expected_progressions(everywhere, source, user) for source, user in accounts}
    assert sum(1 for rows in want.values() if rows) >= 2, "progress must span sources"

    person = (await federated.data(PERSON, {"email": email.upper()}))["person"]

    edges = [edge["node"] for edge in person["progressions"]["edges"]]
    got = {
        source: sorted((decode_id(node["id"]), node["status"]) for node in nodes)
        for source, nodes in groupby(edges, key=lambda node: node["source"])
    }
    assert got == {source: sorted(rows) for source, rows in want.items() if rows}
    # account by account, in source configuration order
    assert [source for source, _ in groupby(node["source"] for node in edges)] == [
        source for source, _ in accounts if want[source]
    ]
    assert person["progressions"]["totalCount"] == sum(len(rows) for rows in want.values())


def shared_person(emulator: Emulator) -> tuple[str, list[tuple[str, Any]]]:
    """An email with accounts in Kombo, Absorb and at least one more source."""
    return next(
        (email, accounts)
        for email, accounts in sorted(accounts_by_email(emulator).items())
        if {DEMO_SOURCES["kombo"], DEMO_SOURCES["absorb"]} <= {s for s, _ in accounts}
        and len(accounts) >= 3
    )


async def test_a_person_in_the_selected_sources_only(
    federated: GraphQLServer, everywhere: Emulator
) -> None:
    email, _ = shared_person(everywhere)
    chosen = [DEMO_SOURCES["absorb"], DEMO_SOURCES["kombo"]]
    data = await federated.data(
        "query($email: String!, $sources: [String!]) { person(email: $email, sources: $sources) "
        "{ sources progressions(first: 250) { edges { node { source } } } } }",
        {"email": email, "sources": chosen},
    )
    person = data["person"]
    assert person["sources"] == [DEMO_SOURCES["kombo"], DEMO_SOURCES["absorb"]]
    assert {edge["node"]["source"] for edge in person["progressions"]["edges"]} <= set(chosen)


async def test_a_failing_source_is_reported_where_it_failed(
    federated: GraphQLServer, everywhere: Emulator
) -> None:
    email, _ = shared_person(everywhere)
    everywhere.inject_fault("absorb", "/users", status=503, times=None)
    everywhere.inject_fault("kombo", "/lms/course-progressions", status=503, times=None)
    body = await federated.post(PERSON, {"email": email})
    person = body["data"]["person"]
    assert DEMO_SOURCES["absorb"] not in person["sources"]
    assert DEMO_SOURCES["kombo"] in person["sources"]
    served = {edge["node"]["source"] for edge in person["progressions"]["edges"]}
    assert DEMO_SOURCES["kombo"] not in served
    assert served, "the other accounts' progressions still come"
    failures = {(error["extensions"]["source"], tuple(error["path"])) for error in body["errors"]}
    assert failures == {
        (DEMO_SOURCES["absorb"], ("person",)),
        (DEMO_SOURCES["kombo"], ("person", "progressions")),
    }


async def test_a_person_is_named_by_the_lower_cased_email_and_nobody_is_null(
    federated: GraphQLServer, everywhere: Emulator
) -> None:
    email, accounts = shared_person(everywhere)
    query = "query($email: String!) { person(email: $email) { email sources } }"
    person = (await federated.data(query, {"email": f"  {email.upper()} "}))["person"]
    assert person == {"email": email, "sources": [source for source, _ in accounts]}
    assert (await federated.data(query, {"email": "nobody@example.invalid"})) == {"person": None}
