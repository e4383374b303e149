"""The real server's subgraph SDL composed into a supergraph by Apollo's composition
library (``@apollo/composition``, what Rover and GraphOS run) beside two small subgraphs:
one extends User and references Course by ``id``, one extends User by ``email``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from connectors.sandbox import Emulator, KomboTenant
from connectors.settings import SourceSettings
from graph.clients import key_sha256
from graph.config import ClientSettings, ServerSettings
from tests.clients.conftest import CLIENTS, require, run_node
from tests.e2e.expected import current_revision, live_users
from tests.e2e.test_subgraph import gid
from tests.harness import run_server

LINK = '@link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])'
BADGES = f"""
extend schema {LINK}

type User @key(fields: "id") {{
  id: ID!
  "Badges this learner earned."
  badges: [Badge!]!
}}

type Course @key(fields: "id", resolvable: false) {{
  id: ID!
}}

type Badge {{
  name: String!
  course: Course
  holder: User!
}}

# A Relay subgraph's own PageInfo: composes beside lms-graph's because both are shareable.
type PageInfo @shareable {{
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  startCursor: String
  endCursor: String
}}

type BadgeEdge {{
  cursor: String!
  node: Badge!
}}

type BadgeConnection {{
  pageInfo: PageInfo!
  edges: [BadgeEdge!]!
}}

type Query {{
  recentBadges(first: Int): BadgeConnection!
}}
"""
HR = f"""
extend schema {LINK}

type User @key(fields: "email") {{
  email: String
  "Who this employee reports to, as the HR system knows them by work email."
  manager: String
}}

type Query {{
  employees: [User!]!
}}
"""
SUBGRAPH_SDL = (Path(__file__).resolve().parents[2] / "schema.federation.graphql").read_text(
    encoding="utf-8"
)
#: The README's example of another subgraph.
README_SUBGRAPH = re.search(
    r"Another subgraph extends a learner.*?```\n(.*?)```",
    (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8"),
    re.DOTALL,
)
#: The same, with a key whose type contradicts lms-graph's: composition must refuse it.
CLASHING = BADGES.replace('  id: ID!\n  "Badges', '  id: Int!\n  "Badges')


@pytest.fixture
def composition() -> None:
    require(
        None
        if (CLIENTS / "node_modules" / "@apollo" / "composition").is_dir()
        else "@apollo/composition is not installed (cd tests/clients && npm ci)"
    )


async def compose(tmp_path: Path, subgraphs: dict[str, str]) -> dict[str, Any]:
    arguments = []
    for name, sdl in subgraphs.items():
        path = tmp_path / f"{name}.graphql"
        path.write_text(sdl, encoding="utf-8")
        arguments.append(f"{name}={path}")
    return await run_node("compose_supergraph.mjs", *arguments)


def definition(supergraph: str, kind_and_name: str) -> str:
    """One type's definition in the supergraph SDL, directives and fields."""
    match = re.search(rf"^{kind_and_name}\b.*?^\}}", supergraph, re.MULTILINE | re.DOTALL)
    assert match, kind_and_name
    return match.group(0)


async def test_the_subgraph_composes_with_others_that_extend_user(
    node: None,
    composition: None,
    sources: list[SourceSettings],
    tmp_path: Path,
) -> None:
    async with run_server(sources, server=ServerSettings(federation=True)) as server:
        lms = (await server.data("{ _service { sdl } }"))["_service"]["sdl"]

    result = await compose(tmp_path, {"lms": lms, "badges": BADGES, "hr": HR})

    assert result["errors"] == []
    assert [hint for hint in result["hints"] if hint["level"] == "WARN"] == []
    supergraph = result["supergraphSdl"]
    user = definition(supergraph, "type User")
    print(user)
    print(definition(supergraph, "type PageInfo"))
    for key in (
        '@join__type(graph: LMS, key: "id")',
        '@join__type(graph: LMS, key: "email")',
        '@join__type(graph: BADGES, key: "id")',
        '@join__type(graph: HR, key: "email")',
    ):
        assert key in user
    assert re.search(r"badges: \[Badge!\]! @join__field\(graph: BADGES\)", user)
    assert re.search(r"manager: String @join__field\(graph: HR\)", user)
    assert re.search(r"progressions\(.*\): ProgressionConnection @join__field\(graph: LMS\)", user)
    for entity in ("Course", "Revision", "Skill", "Progression", "Provider"):
        assert '@join__type(graph: LMS, key: "id")' in definition(supergraph, f"type {entity}")
    assert re.search(
        r"@join__type\(graph: BADGES\)\s+@join__type\(graph: LMS\)",
        definition(supergraph, "type PageInfo"),
    )
    # The federation plumbing stays in the subgraph: no _entities or _service for clients.
    assert "_entities" not in supergraph
    assert "_service" not in supergraph


async def test_a_clashing_subgraph_is_reported(
    node: None, composition: None, tmp_path: Path
) -> None:
    result = await compose(tmp_path, {"lms": SUBGRAPH_SDL, "badges": CLASHING})
    assert result["supergraphSdl"] is None
    assert "FIELD_TYPE_MISMATCH" in {error["code"] for error in result["errors"]}, result["errors"]


async def test_the_readme_example_subgraph_composes(
    node: None, composition: None, tmp_path: Path
) -> None:
    assert README_SUBGRAPH is not None
    result = await compose(tmp_path, {"lms": SUBGRAPH_SDL, "hr": README_SUBGRAPH.group(1)})
    assert result["errors"] == []
    assert [hint for hint in result["hints"] if hint["level"] == "WARN"] == []
    assert '@join__type(graph: HR, key: "email")' in definition(
        result["supergraphSdl"], "type User"
    )


CLIENT_OPERATION = """
query Learners {
  recentBadges(first: 50) { edges { node { name course { title } holder { email firstName } } } }
  employees { manager lastName source }
}
"""
ROUTER_KEY = "router-key-for-tests"


async def test_the_planners_entity_fetches_run_on_the_server(
    node: None,
    composition: None,
    emulator: Emulator,
    sources: list[SourceSettings],
    tenant: KomboTenant,
    tmp_path: Path,
) -> None:
    """Apollo's query planner splits a supergraph operation into subgraph fetches; the
    fetches it sends to lms-graph (`_entities` by Course ID, User ID and User email) run on
    the real server with the router's key, in order, each in one batched vendor call."""
    operation = tmp_path / "operation.graphql"
    operation.write_text(CLIENT_OPERATION, encoding="utf-8")
    arguments = [str(operation)]
    for name, sdl in {"lms": SUBGRAPH_SDL, "badges": BADGES, "hr": HR}.items():
        (tmp_path / f"{name}.graphql").write_text(sdl, encoding="utf-8")
        arguments.append(f"{name}={tmp_path / f'{name}.graphql'}")
    planned = await run_node("plan_query.mjs", *arguments)
    assert planned["errors"] == []
    print(planned["plan"])
    fetches = [f for f in planned["fetches"] if f["serviceName"] == "lms"]
    assert [(f["entities"], f["requires"]) for f in fetches] == [
        (True, [{"type": "Course", "keys": ["id"]}]),
        (True, [{"type": "User", "keys": ["id"]}]),
        (True, [{"type": "User", "keys": ["email"]}]),
    ]

    users = live_users(tenant.world)[:50]
    courses = [c for c in tenant.world.courses if c.deleted_at is None][:20]
    representations = [
        [{"__typename": "Course", "id": gid("Course", c.id)} for c in courses],
        [{"__typename": "User", "id": gid("User", u.id)} for u in users],
        [{"__typename": "User", "email": u.email} for u in users],
    ]
    clients = [ClientSettings(name="router", key_sha256=key_sha256(ROUTER_KEY))]
    server_settings = ServerSettings(federation=True)
    async with run_server(sources, server=server_settings, clients=clients) as server:
        router = server.with_key(ROUTER_KEY)
        answers = []
        for fetch, variables in zip(fetches, representations, strict=True):
            emulator.clear_requests()
            answers.append(
                (await router.data(fetch["operation"], {"representations": variables}))["_entities"]
            )
            assert len(emulator.requests) == 1, [r.path for r in emulator.requests]
        refused, _, _ = await server.send(fetches[0]["operation"], {"representations": []})

    assert refused == 401  # the router must send its key
    by_course, by_id, by_email = answers
    assert [e["title"] for e in by_course] == [current_revision(c).title for c in courses]
    assert [(e["email"], e["firstName"]) for e in by_id] == [(u.email, u.first_name) for u in users]
    assert [(e["lastName"], e["source"]) for e in by_email] == [
        (u.last_name, "acme") for u in users
    ]
