"""World records spelled as Kombo's JSON: every documented field, in the documented order."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from connectors.sandbox.records import (
    World,
    WorldCourse,
    WorldProgression,
    WorldRevision,
    WorldSkill,
    WorldUser,
)

__all__ = [
    "COURSES",
    "ENDPOINTS",
    "PROGRESSIONS",
    "SKILLS",
    "USERS",
    "Endpoint",
    "course",
    "kombo_datetime",
    "progression",
    "skill",
    "user",
]

RowT = TypeVar("RowT")


def kombo_datetime(moment: datetime | None) -> str | None:
    """Kombo's date-time spelling, e.g. ``2022-08-07T14:01:29.196Z`` (UTC, milliseconds)."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _untracked() -> dict[str, Any]:
    # Scope-dependent extras the sandbox never fills.
    return {"remote_data": None, "custom_fields": None, "integration_fields": []}


def user(row: WorldUser) -> dict[str, Any]:
    """A ``GET /lms/users`` result."""
    return {
        "id": row.id,
        "remote_id": row.remote_id,
        "first_name": row.first_name,
        "last_name": row.last_name,
        "work_email": row.email,
        "status": row.status,
        "remote_created_at": kombo_datetime(row.created_at),
        "remote_deleted_at": kombo_datetime(row.deleted_at),
        "changed_at": kombo_datetime(row.changed_at),
        **_untracked(),
    }


def skill(row: WorldSkill) -> dict[str, Any]:
    """A ``GET /lms/skills`` result (the world keeps no creation date for skills)."""
    return {
        "id": row.id,
        "remote_id": row.remote_id,
        "name": row.name,
        "remote_created_at": None,
        "remote_deleted_at": kombo_datetime(row.deleted_at),
        "changed_at": kombo_datetime(row.changed_at),
        **_untracked(),
    }


def _revision(world: World, row: WorldRevision) -> dict[str, Any]:
    skills = (world.skill(skill_id) for skill_id in row.skill_ids)
    return {
        "id": row.id,
        "remote_id": row.remote_id,
        "course_id": row.course_id,
        "title": row.title,
        "description": row.description,
        "remote_url": row.url,
        "status": row.status,
        "remote_created_at": kombo_datetime(row.created_at),
        "remote_deleted_at": kombo_datetime(row.deleted_at),
        "changed_at": kombo_datetime(row.changed_at),
        **_untracked(),
        "skill_assignments": [
            {"skill": {"id": s.id, "remote_id": s.remote_id, "name": s.name}} for s in skills
        ],
    }


def course(world: World, row: WorldCourse, include_deleted: bool) -> dict[str, Any]:
    """A ``GET /lms/courses`` result; deleted revisions only with ``include_deleted``."""
    provider = None if row.provider_id is None else world.provider(row.provider_id)
    return {
        "id": row.id,
        "remote_id": row.remote_id,
        "provider_id": row.provider_id,
        "origin_id": row.origin_id,
        "remote_created_at": kombo_datetime(row.created_at),
        "remote_deleted_at": kombo_datetime(row.deleted_at),
        "changed_at": kombo_datetime(row.changed_at),
        **_untracked(),
        "provider": None
        if provider is None
        else {"id": provider.id, "remote_id": provider.remote_id, "name": provider.name},
        "revisions": [
            _revision(world, r) for r in row.revisions if include_deleted or r.deleted_at is None
        ],
    }


def progression(world: World, row: WorldProgression) -> dict[str, Any]:
    """A ``GET /lms/course-progressions`` result with its embedded user and revision."""
    learner = world.user(row.user_id)
    revision = world.revision(row.revision_id)
    owner = world.course(revision.course_id)
    return {
        "id": row.id,
        "remote_id": row.remote_id,
        "user_id": row.user_id,
        "course_revision_id": row.revision_id,
        "status": row.status,
        "enrolled_at": kombo_datetime(row.enrolled_at),
        "completed_at": kombo_datetime(row.completed_at),
        "changed_at": kombo_datetime(row.changed_at),
        "remote_deleted_at": kombo_datetime(row.deleted_at),
        "remote_data": None,
        "user": {
            "id": learner.id,
            "remote_id": learner.remote_id,
            "first_name": learner.first_name,
            "last_name": learner.last_name,
            "work_email": learner.email,
        },
        "course_revision": {
            "id": revision.id,
            "remote_id": revision.remote_id,
            "title": revision.title,
            "course": {"id": owner.id, "remote_id": owner.remote_id},
        },
    }


@dataclass(frozen=True, slots=True)
class Endpoint(Generic[RowT]):
    """What differs between the list endpoints: rows, comma-list filters, change and
    deletion times, and the JSON of one row (given ``include_deleted``).
    """

    rows: Callable[[World], Sequence[RowT]]
    #: Comma-list filter name -> the row's value it matches (already lower-case where
    #: the filter is case-insensitive).
    filters: Mapping[str, Callable[[World, RowT], str]]
    updated_at: Callable[[RowT], datetime]
    deleted_at: Callable[[RowT], datetime | None]
    serialize: Callable[[World, RowT, bool], dict[str, Any]]
    case_insensitive: frozenset[str] = frozenset()


USERS: Endpoint[WorldUser] = Endpoint(
    rows=lambda w: w.users,
    filters={
        "ids": lambda _w, u: u.id,
        "remote_ids": lambda _w, u: u.remote_id,
        "work_emails": lambda _w, u: u.email.lower(),
    },
    updated_at=lambda u: u.changed_at,
    deleted_at=lambda u: u.deleted_at,
    serialize=lambda _w, u, _d: user(u),
    case_insensitive=frozenset({"work_emails"}),
)
COURSES: Endpoint[WorldCourse] = Endpoint(
    rows=lambda w: w.courses,
    filters={"ids": lambda _w, c: c.id, "remote_ids": lambda _w, c: c.remote_id},
    # Kombo: a revision added, removed or changed also counts as a change of its course.
    updated_at=lambda c: max((c.changed_at, *(r.changed_at for r in c.revisions))),
    deleted_at=lambda c: c.deleted_at,
    serialize=course,
)
PROGRESSIONS: Endpoint[WorldProgression] = Endpoint(
    rows=lambda w: w.progressions,
    filters={
        "ids": lambda _w, p: p.id,
        "remote_ids": lambda _w, p: p.remote_id,
        "user_ids": lambda _w, p: p.user_id,
        "course_ids": lambda w, p: w.revision(p.revision_id).course_id,
    },
    updated_at=lambda p: p.changed_at,
    deleted_at=lambda p: p.deleted_at,
    serialize=lambda w, p, _d: progression(w, p),
)
SKILLS: Endpoint[WorldSkill] = Endpoint(
    rows=lambda w: w.skills,
    filters={"ids": lambda _w, s: s.id, "remote_ids": lambda _w, s: s.remote_id},
    updated_at=lambda s: s.changed_at,
    deleted_at=lambda s: s.deleted_at,
    serialize=lambda _w, s, _d: skill(s),
)


#: The list endpoints by path below ``/v1``.
ENDPOINTS: Mapping[str, Endpoint[Any]] = {
    "/lms/users": USERS,
    "/lms/courses": COURSES,
    "/lms/course-progressions": PROGRESSIONS,
    "/lms/skills": SKILLS,
}
