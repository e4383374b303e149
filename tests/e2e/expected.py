"""What the API must answer, computed straight from the emulator's world (not via our mapping).

Each vendor's part follows the world → wire rules written in its emulator module's
docstring (``connectors/sandbox/kombo.py``, ``absorb.py``, ``skilljar.py``,
``stackone.py``), restated here rather than imported, so a change of the emulator's
encoding shows up as a failing test instead of moving the expectation with it.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from connectors.sandbox import World, WorldCourse, WorldRevision


def decode_id(global_id: str) -> tuple[str, str, str]:
    """(type, source, vendor key) of a global ID."""
    type_name, _, rest = base64.b64decode(global_id).decode().partition(":")
    source, _, key = rest.partition(":")
    return type_name, source, key


def stamp(moment: datetime | None) -> str | None:
    """A world datetime as the API renders it after Kombo's wire format (UTC, truncated to
    the millisecond)."""
    if moment is None:
        return None
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000).isoformat()


def current_revision(course: WorldCourse) -> WorldRevision:
    live = [r for r in course.revisions if r.deleted_at is None] or list(course.revisions)
    active = [r for r in live if r.status == "ACTIVE"]
    return (active or live)[-1]


def live_users(world: World) -> list[Any]:
    """Kombo's users list without ``include_deleted``: world order, deleted ones left out."""
    return [user for user in world.users if user.deleted_at is None]


def kombo_progression_calls(world: World, users: Sequence[Any]) -> int:
    """Kombo's `/lms/course-progressions` calls for these users' progressions: the users
    in chunks of 25, each chunk one call per 250 of its live progressions (at least one)."""
    chunks = [users[i : i + 25] for i in range(0, len(users), 25)]
    return sum(
        max(1, math.ceil(sum(live_progressions(world, u) for u in chunk) / 250)) for chunk in chunks
    )


def live_progressions(world: World, user: Any) -> int:
    return sum(1 for p in world.progressions_of(user.id) if p.deleted_at is None)


def expected_user(world: World, source: str, user: Any, progressions: int = 20) -> dict[str, Any]:
    """The canonical query's node for a Kombo ``user``, field by field: its progressions
    are its world progressions that are not deleted (Kombo serves those without
    ``include_deleted``), in world order; a revision's skills are every ``skill_ids``
    entry of the course's current revision (Kombo assigns deleted skills too)."""
    rows = [p for p in world.progressions_of(user.id) if p.deleted_at is None][:progressions]
    return {
        "id": ("User", source, user.id),
        "firstName": user.first_name,
        "lastName": user.last_name,
        "email": user.email,
        "progressions": [
            {
                "id": ("Progression", source, row.id),
                "status": row.status,
                "enrolledAt": stamp(row.enrolled_at),
                "completedAt": stamp(row.completed_at),
                "revision": _expected_revision(world, source, world.revision(row.revision_id)),
            }
            for row in rows
        ],
    }


def _expected_revision(world: World, source: str, revision: WorldRevision) -> dict[str, Any]:
    course = world.course(revision.course_id)
    current = current_revision(course)
    return {
        "id": ("Revision", source, f"{course.id}/{revision.id}"),
        "title": revision.title,
        "status": revision.status,
        "course": {
            "id": ("Course", source, course.id),
            "title": current.title,
            "skills": [
                {"id": ("Skill", source, skill_id), "name": world.skill(skill_id).name}
                for skill_id in current.skill_ids
            ],
        },
    }


def normalise(node: dict[str, Any]) -> dict[str, Any]:
    """A canonical-query user node with IDs decoded and connections flattened."""

    def revision(rev: dict[str, Any]) -> dict[str, Any]:
        course = rev["course"]
        return {
            **rev,
            "id": decode_id(rev["id"]),
            "course": {
                **course,
                "id": decode_id(course["id"]),
                "skills": [{**s, "id": decode_id(s["id"])} for s in course["skills"]],
            },
        }

    return {
        **node,
        "id": decode_id(node["id"]),
        "progressions": [
            {
                **edge["node"],
                "id": decode_id(edge["node"]["id"]),
                "revision": revision(edge["node"]["revision"]),
            }
            for edge in node["progressions"]["edges"]
        ],
    }


# -- the other vendors, from the encoding rules in each emulator module's docstring --------


def content_completion_ids(world: World) -> frozenset[str]:
    """StackOne's rule, restated from its emulator's docstring: every 5th COMPLETED
    progression, counting all COMPLETED world progressions in world order (deleted ones
    too), is served as a completion of the course's first content item, without an
    assignment."""
    completed = [p.id for p in world.progressions if p.status == "COMPLETED"]
    return frozenset(completed[4::5])


def newest(course: WorldCourse) -> WorldRevision:
    return course.revisions[-1]


def served_progressions(world: World, user: Any) -> list[Any]:
    """A vendor without tombstones serves neither deleted progressions nor deleted courses'."""
    return [
        p
        for p in world.progressions_of(user.id)
        if p.deleted_at is None and world.course(p.course_id).deleted_at is None
    ]


def _course_node(world: World, source: str, course: WorldCourse, skills: bool) -> dict[str, Any]:
    skill_ids = [s for s in newest(course).skill_ids if world.skill(s).deleted_at is None]
    return {
        "id": ("Course", source, course.id),
        "title": newest(course).title,
        "skills": [{"id": ("Skill", source, s), "name": world.skill(s).name} for s in skill_ids]
        if skills
        else [],
    }


def expected_vendor_user(world: World, vendor: str, source: str, user: Any) -> dict[str, Any]:
    """The canonical query's node for a user of Absorb, Skilljar or StackOne.

    Progressions are sorted by ID: each vendor orders a user's progress its own way.
    """
    rows = served_progressions(world, user)
    if vendor == "stackone":
        rows = [p for p in rows if p.status != "DROPPED"]  # StackOne has no dropped state
    nodes = [_vendor_progression(world, vendor, source, row) for row in rows]
    return {
        "id": ("User", source, user.id),
        "firstName": user.first_name,
        "lastName": user.last_name,
        "email": user.email,
        "progressions": sorted(nodes, key=lambda node: node["id"]),
    }


def _vendor_progression(world: World, vendor: str, source: str, row: Any) -> dict[str, Any]:
    course = world.course(row.course_id)
    if vendor == "absorb":
        key, revision_key, status = row.id, f"{course.id}/{row.revision_id}", None
    elif vendor == "skilljar":
        revision = world.revision(row.revision_id)
        key, revision_key = f"{row.user_id}:{row.revision_id}", f"{course.id}/{row.revision_id}"
        status = "INACTIVE" if revision.status == "INACTIVE" else "ACTIVE"
    else:
        # StackOne keys a progression by learning object: some completions are of content
        learning_object = f"{course.id}c1" if row.id in content_completion_ids(world) else course.id
        key, revision_key = f"{row.user_id}:{learning_object}", f"{course.id}/{course.id}"
        status = newest(course).status
    return {
        "id": ("Progression", source, key),
        "status": row.status,
        "revision": {
            "id": ("Revision", source, revision_key),
            "title": newest(course).title,
            "status": status,
            "course": _course_node(world, source, course, skills=vendor == "stackone"),
        },
    }
