"""node/nodes for every type, relations, filters: compared with the emulator's world."""

from __future__ import annotations

import base64

from connectors.sandbox import Emulator, KomboTenant
from tests.e2e.expected import current_revision, live_users, stamp
from tests.harness import GraphQLServer


def gid(type_name: str, key: str, source: str = "acme") -> str:
    return base64.b64encode(f"{type_name}:{source}:{key}".encode()).decode()


async def test_node_resolves_every_type(server: GraphQLServer, tenant: KomboTenant) -> None:
    world = tenant.world
    course = next(c for c in world.courses if c.provider_id and c.deleted_at is None)
    revision = course.revisions[-1]
    progression = world.progressions[0]
    provider = world.provider(course.provider_id or "")
    user, skill = world.users[0], world.skills[0]
    query = """
    query($ids: [ID!]!) { nodes(ids: $ids) {
      __typename id
      ... on User { email }
      ... on Course { title provider { id name } revisions { totalCount } }
      ... on Revision { title course { remoteId } }
      ... on Skill { name }
      ... on Progression { status user { remoteId } course { remoteId } }
      ... on Provider { name }
    } }
    """
    ids = [
        gid("User", user.id),
        gid("Course", course.id),
        gid("Revision", f"{course.id}/{revision.id}"),
        gid("Skill", skill.id),
        gid("Progression", progression.id),
        gid("Provider", provider.id),
    ]
    nodes = (await server.data(query, {"ids": ids}))["nodes"]

    assert [node["id"] for node in nodes] == ids
    assert nodes[0]["email"] == user.email
    live_revisions = [r for r in course.revisions if r.deleted_at is None]
    assert nodes[1] == {
        "__typename": "Course",
        "id": ids[1],
        "title": current_revision(course).title,
        "provider": {"id": ids[5], "name": provider.name},
        "revisions": {"totalCount": len(live_revisions)},
    }
    assert nodes[2]["title"] == revision.title
    assert nodes[2]["course"] == {"remoteId": course.id}
    assert nodes[3]["name"] == skill.name
    assert nodes[4]["status"] == progression.status
    assert nodes[4]["user"] == {"remoteId": progression.user_id}
    assert nodes[4]["course"] == {"remoteId": progression.course_id}
    assert nodes[5] == {"__typename": "Provider", "id": ids[5], "name": provider.name}


async def test_many_nodes_cost_one_call_per_type(
    counted_server: GraphQLServer, emulator: Emulator, tenant: KomboTenant, cache_mode: str
) -> None:
    users = tenant.world.users[:60]
    cold = [("/lms/users", 60)]
    for expected in (cold, cold if cache_mode == "off" else []):
        emulator.clear_requests()
        body = await counted_server.data(
            "query($ids: [ID!]!) { nodes(ids: $ids) { ... on User { email } } }",
            {"ids": [gid("User", u.id) for u in users]},
        )
        assert [node["email"] for node in body["nodes"]] == [u.email for u in users]
        assert [(r.path, r.query["ids"].count(",") + 1) for r in emulator.requests] == expected


async def test_user_progressions_filter_by_status(
    server: GraphQLServer, tenant: KomboTenant
) -> None:
    world = tenant.world
    user = max(live_users(world), key=lambda u: len(world.progressions_of(u.id)))
    query = """
    query($id: ID!, $status: [ProgressionStatus!]) { user(id: $id) {
      progressions(status: $status) { totalCount edges { node { remoteId status } } }
    } }
    """
    body = await server.data(query, {"id": gid("User", user.id), "status": ["COMPLETED"]})
    got = body["user"]["progressions"]
    expected = [
        p.id
        for p in world.progressions_of(user.id)
        if p.deleted_at is None and p.status == "COMPLETED"
    ]
    assert [edge["node"]["remoteId"] for edge in got["edges"]] == expected
    assert got["totalCount"] == len(expected)
    assert {edge["node"]["status"] for edge in got["edges"]} <= {"COMPLETED"}


async def test_updated_after_and_include_deleted(
    server: GraphQLServer, tenant: KomboTenant
) -> None:
    world = tenant.world
    moments = sorted(u.changed_at for u in world.users)
    cutoff = moments[len(moments) // 2]
    query = """
    query($after: DateTime, $deleted: Boolean!) {
      users(first: 250, updatedAfter: $after, includeDeleted: $deleted) {
        edges { node { remoteId deletedAt } }
      }
    }
    """
    recent = await server.data(query, {"after": cutoff.isoformat(), "deleted": False})
    assert [e["node"]["remoteId"] for e in recent["users"]["edges"]] == [
        u.id for u in world.users if u.changed_at > cutoff and u.deleted_at is None
    ]
    everyone = await server.data(query, {"after": None, "deleted": True})
    deleted = {
        e["node"]["remoteId"]: e["node"]["deletedAt"]
        for e in everyone["users"]["edges"]
        if e["node"]["deletedAt"]
    }
    assert deleted == {u.id: stamp(u.deleted_at) for u in world.users if u.deleted_at}
    assert deleted, "the world must contain deleted users"


async def test_top_level_courses_skills_and_progressions(
    server: GraphQLServer, tenant: KomboTenant
) -> None:
    world = tenant.world
    query = """
    {
      courses(first: 250) { edges { node { remoteId title } } }
      skills(first: 250) { edges { node { remoteId name } } }
      progressions(first: 10) { edges { node { remoteId status } } }
    }
    """
    data = await server.data(query)
    assert [(e["node"]["remoteId"], e["node"]["title"]) for e in data["courses"]["edges"]] == [
        (c.id, current_revision(c).title) for c in world.courses if c.deleted_at is None
    ]
    assert [(e["node"]["remoteId"], e["node"]["name"]) for e in data["skills"]["edges"]] == [
        (s.id, s.name) for s in world.skills if s.deleted_at is None
    ]
    assert [
        (e["node"]["remoteId"], e["node"]["status"]) for e in data["progressions"]["edges"]
    ] == [(p.id, p.status) for p in world.progressions if p.deleted_at is None][:10]


async def test_records_a_list_returned_cost_no_second_call(
    counted_server: GraphQLServer, emulator: Emulator, tenant: KomboTenant, cache_mode: str
) -> None:
    query = """
    { users(first: 5) { edges { node {
      email progressions(first: 3) { edges { node { user { email } } } }
    } } } }
    """
    # Progression.user is served from the users page (the loader was primed with it): no
    # users-by-ids call follows it, with or without the cache; asked again, the memory
    # cache answers everything.
    cold = ["/lms/users", "/lms/course-progressions"]
    for expected in (cold, cold if cache_mode == "off" else []):
        emulator.clear_requests()
        data = await counted_server.data(query)
        for edge in data["users"]["edges"]:
            owners = {p["node"]["user"]["email"] for p in edge["node"]["progressions"]["edges"]}
            assert owners <= {edge["node"]["email"]}
            assert owners, "every listed user must have progressions for this test to bite"
        assert [r.path for r in emulator.requests] == expected
        assert all("ids" not in r.query for r in emulator.requests)
