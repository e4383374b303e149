"""The generated world: deterministic, and shaped like a real LMS tenant."""

from __future__ import annotations

import re
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.sandbox import World, generate_world

KOMBO_ID = re.compile(r"[1-9A-HJ-NP-Za-km-z]{24}")


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world()


def test_same_seed_gives_an_equal_world() -> None:
    assert generate_world(seed=3, users=40) == generate_world(seed=3, users=40)


def test_different_seeds_give_different_worlds() -> None:
    one, other = generate_world(seed=1, users=40), generate_world(seed=2, users=40)
    assert one != other
    assert {u.id for u in one.users}.isdisjoint(u.id for u in other.users)


def test_default_sizes(world: World) -> None:
    assert (len(world.users), len(world.courses), len(world.skills)) == (120, 40, 25)
    assert len(world.providers) == 6


def test_ids_are_kombo_style_and_globally_unique(world: World) -> None:
    ids = [r.id for c in world.courses for r in c.revisions]
    ids += [c.id for c in world.courses] + [u.id for u in world.users]
    ids += [s.id for s in world.skills] + [p.id for p in world.providers]
    ids += [p.id for p in world.progressions]
    assert len(ids) == len(set(ids))
    assert all(KOMBO_ID.fullmatch(i) for i in ids)
    assert world.users[42].remote_id == "user-1042"
    assert world.courses[16].remote_id == "course-17"
    assert world.courses[16].revisions[0].remote_id == "rev-17-1"
    assert world.skills[4].remote_id == "skill-5"
    assert world.progressions[0].remote_id == "prog-9001"


def test_emails_are_unique_case_insensitively_and_some_are_mixed_case(world: World) -> None:
    emails = [u.email for u in world.users]
    assert len({e.lower() for e in emails}) == len(emails)
    assert any(e != e.lower() for e in emails)
    assert all(re.fullmatch(r"[A-Za-z]+\.[A-Za-z]+\d+@example\.com", e) for e in emails)


def test_skill_names_are_unique_and_realistic(world: World) -> None:
    names = [s.name for s in world.skills]
    assert len(set(names)) == len(names)
    assert {"Python", "Negotiation", "Data Privacy"} <= set(names)


def test_courses_have_one_active_newest_revision_except_a_few(world: World) -> None:
    all_inactive = 0
    for course in world.courses:
        assert 1 <= len(course.revisions) <= 3
        active = [r for r in course.revisions if r.status == "ACTIVE"]
        if active:
            assert active == [course.revisions[-1]]
        else:
            all_inactive += 1
        for revision in course.revisions:
            assert revision.course_id == course.id
            assert len(revision.skill_ids) <= 4
            assert all(world.skill(s).deleted_at is None for s in revision.skill_ids)
    assert 0 < all_inactive < len(world.courses) // 4
    assert any(c.provider_id is None for c in world.courses)
    assert any(c.provider_id is not None for c in world.courses)


def test_progressions_are_consistent(world: World) -> None:
    for progression in world.progressions:
        assert (progression.completed_at is not None) == (progression.status == "COMPLETED")
        revision = world.revision(progression.revision_id)
        assert revision.course_id == progression.course_id
        assert world.user(progression.user_id).id == progression.user_id
    assert set(Counter(p.status for p in world.progressions)) == {
        "ENROLLED",
        "IN_PROGRESS",
        "COMPLETED",
        "DROPPED",
    }


def test_progressions_per_user(world: World) -> None:
    for user in world.users:
        courses = [p.course_id for p in world.progressions_of(user.id)]
        assert len(courses) <= 12
        assert len(courses) == len(set(courses))
    assert any(not world.progressions_of(u.id) and u.deleted_at is None for u in world.users)
    grouped = [p for u in world.users for p in world.progressions_of(u.id)]
    assert grouped == list(world.progressions)


def test_datetimes_are_utc_and_in_range(world: World) -> None:
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
    moments = [
        m
        for p in world.progressions
        for m in (p.enrolled_at, p.completed_at, p.changed_at, p.deleted_at, p.due_at)
    ]
    moments += [m for u in world.users for m in (u.created_at, u.changed_at, u.deleted_at)]
    for course in world.courses:
        moments += [course.created_at, course.changed_at, course.deleted_at]
        moments += [r.changed_at for r in course.revisions]
    present = [m for m in moments if m is not None]
    assert all(m.tzinfo is UTC for m in present)
    assert all(start <= m < end for m in present)
    assert all(m.microsecond % 1000 == 0 for m in present)


def test_about_three_percent_are_soft_deleted() -> None:
    world = generate_world(seed=11, users=500)
    for group in (world.users, world.progressions):
        share = sum(1 for row in group if row.deleted_at is not None) / len(group)
        assert 0.005 < share < 0.07
    rows: list[Any] = [*world.users, *world.progressions, *world.skills, *world.courses]
    for row in rows:
        if row.deleted_at is not None:
            assert row.changed_at == row.deleted_at  # a deletion is a change


def test_lookups(world: World) -> None:
    course = world.courses[3]
    assert world.course(course.id) is course
    assert world.revision(course.revisions[0].id) is course.revisions[0]
    assert world.user(world.users[5].id) is world.users[5]
    assert world.skill(world.skills[2].id) is world.skills[2]
    assert world.progressions_of("no-such-user") == ()
    with pytest.raises(KeyError):
        world.user("no-such-user")


def test_a_large_world_generates_quickly() -> None:
    started = time.perf_counter()
    generate_world(seed=5, users=500)
    assert time.perf_counter() - started < 0.5
