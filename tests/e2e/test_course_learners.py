"""Course → learners through the real server, for every vendor against its world:
``Course.progressions`` (with its status filter) and Absorb's ``Course.revisions``."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.sandbox import Emulator, World, generate_world
from connectors.sandbox.absorb import AbsorbTenant
from connectors.sandbox.server import (
    DEMO_ABSORB_API_KEY,
    DEMO_ABSORB_PASSWORD,
    DEMO_ABSORB_USERNAME,
)
from connectors.settings import AbsorbSettings
from tests.e2e.conftest import worlds
from tests.e2e.expected import _vendor_progression, decode_id, served_progressions
from tests.harness import DEMO_SOURCES, GraphQLServer, run_server

COURSES = """
query($ids: [ID!]!, $status: [ProgressionStatus!]) {
  nodes(ids: $ids) {
    ... on Course {
      id
      progressions(first: 250, status: $status) {
        totalCount
        edges { node { id status user { id } course { id } } }
      }
      revisions(first: 50) { edges { node { id title } } }
    }
  }
}
"""


def course_id(source: str, key: str) -> str:
    return base64.b64encode(f"Course:{source}:{key}".encode()).decode()


def expected_ids(vendor: str, source: str, world: World, course: Any) -> set[tuple[str, ...]]:
    """The global IDs (decoded) of the course's progressions, from the world alone."""
    users = {user.id: user for user in world.users}
    if vendor == "kombo":
        return {
            ("Progression", source, p.id)
            for p in world.progressions
            if p.course_id == course.id and p.deleted_at is None and p.user_id in users
        }
    rows = [
        row
        for user in world.users
        for row in served_progressions(world, user)
        if row.course_id == course.id and (vendor != "stackone" or row.status != "DROPPED")
    ]
    return {_vendor_progression(world, vendor, source, row)["id"] for row in rows}


def busy_courses(world: World, count: int) -> list[Any]:
    """Live courses with the most progressions, so every status shows up somewhere."""
    live = [course for course in world.courses if course.deleted_at is None]
    taken = {course.id: 0 for course in live}
    for progression in world.progressions:
        if progression.course_id in taken:
            taken[progression.course_id] += 1
    return sorted(live, key=lambda course: -taken[course.id])[:count]


@pytest.mark.parametrize("vendor", sorted(DEMO_SOURCES))
async def test_course_progressions_are_the_courses_learners_in_the_world(
    federated: GraphQLServer, everywhere: Emulator, vendor: str
) -> None:
    source = DEMO_SOURCES[vendor]
    world = worlds(everywhere)[source]
    courses = busy_courses(world, 4)
    ids = [course_id(source, course.id) for course in courses]
    data = await federated.data(COURSES, {"ids": ids})
    for course, node in zip(courses, data["nodes"], strict=True):
        edges = node["progressions"]["edges"]
        got = {decode_id(edge["node"]["id"]) for edge in edges}
        assert got == expected_ids(vendor, source, world, course)
        assert got, "a busy course has learners"
        assert {edge["node"]["course"]["id"] for edge in edges} == {node["id"]}
        assert all(edge["node"]["user"] is not None for edge in edges)
        assert node["progressions"]["totalCount"] == len(edges)

    done = await federated.data(COURSES, {"ids": ids, "status": ["COMPLETED"]})
    for everyone, completed in zip(data["nodes"], done["nodes"], strict=True):
        wanted = [
            edge["node"]["id"]
            for edge in everyone["progressions"]["edges"]
            if edge["node"]["status"] == "COMPLETED"
        ]
        assert [edge["node"]["id"] for edge in completed["progressions"]["edges"]] == wanted


async def test_course_progressions_use_the_by_course_calls_and_the_cache(
    federated_counted: GraphQLServer, everywhere: Emulator, cache_mode: str
) -> None:
    kombo, absorb = DEMO_SOURCES["kombo"], DEMO_SOURCES["absorb"]
    kombo_courses = busy_courses(worlds(everywhere)[kombo], 10)
    absorb_courses = busy_courses(worlds(everywhere)[absorb], 3)
    ids = [course_id(kombo, c.id) for c in kombo_courses]
    ids += [course_id(absorb, c.id) for c in absorb_courses]
    query = (
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Course { progressions { totalCount } } } }"
    )
    # Kombo: `course_ids` calls of five courses, one page each (fewer than 250 learners);
    # Absorb: one enrolment list per course.
    world = worlds(everywhere)[kombo]
    learners = [sum(1 for p in world.progressions if p.course_id == c.id) for c in kombo_courses]
    assert max(sum(learners[:5]), sum(learners[5:])) < 250
    cold = sorted(
        [("kombo", "/lms/course-progressions")] * 2
        + [("absorb", f"/courses/{c.id}/enrollments") for c in absorb_courses]
    )
    # Asked again: the same calls without a cache; none with one (grouped look-ups are
    # cached like the others).
    for expected in (cold, cold if cache_mode == "off" else []):
        everywhere.clear_requests()
        await federated_counted.data(query, {"ids": ids})
        paths = [(r.vendor, r.path) for r in everywhere.requests if "authenticate" not in r.path]
        by_course = [p for p in paths if p[1].endswith(("course-progressions", "/enrollments"))]
        assert sorted(by_course) == expected
        if cache_mode == "memory" and not expected:
            assert everywhere.count() == 0


@pytest.fixture
async def small_absorb() -> AsyncIterator[tuple[GraphQLServer, World]]:
    """Absorb alone, with so few learners that most courses have no enrolment."""
    world = generate_world(11, users=12, id_style="guid")
    tenant = AbsorbTenant(DEMO_ABSORB_API_KEY, DEMO_ABSORB_USERNAME, DEMO_ABSORB_PASSWORD, world)
    async with Emulator(absorb_tenants=[tenant]) as emulator:
        settings = AbsorbSettings(
            kind="absorb",
            name="absorb",
            base_url=emulator.vendor_base_url("absorb"),
            api_key=SecretStr(DEMO_ABSORB_API_KEY),
            username=DEMO_ABSORB_USERNAME,
            password=SecretStr(DEMO_ABSORB_PASSWORD),
        )
        async with run_server([settings]) as server:
            yield server, world


async def test_absorb_revisions_are_the_versions_its_enrolments_name(
    small_absorb: tuple[GraphQLServer, World],
) -> None:
    server, world = small_absorb
    live = [course for course in world.courses if course.deleted_at is None]
    named = {
        course.id: list(
            dict.fromkeys(
                p.revision_id
                for p in world.progressions
                if p.course_id == course.id and p.deleted_at is None
            )
        )
        for course in live
    }
    lonely = [course for course in live if not named[course.id]][:2]
    busy = [course for course in live if len(named[course.id]) > 1][:2]
    assert lonely, "the world has courses nobody is enrolled in"
    assert busy, "the world has courses whose enrolments name several versions"
    courses = [*busy, *lonely]
    data = await server.data(COURSES, {"ids": [course_id("absorb", c.id) for c in courses]})
    for course, node in zip(courses, data["nodes"], strict=True):
        revisions = [decode_id(edge["node"]["id"]) for edge in node["revisions"]["edges"]]
        versions = named[course.id] or [course.id]  # none named: the course is its revision
        assert revisions == [("Revision", "absorb", f"{course.id}/{v}") for v in versions]
        titles = {edge["node"]["title"] for edge in node["revisions"]["edges"]}
        assert titles == {course.revisions[-1].title}
