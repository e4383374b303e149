"""World records spelled as StackOne's LMS JSON, indexed once per tenant.

The encoding rules are listed in :mod:`connectors.sandbox.stackone`; this module
implements them. :func:`serve` turns a :class:`World` into every row StackOne would
serve for it, so requests only filter and page precomputed rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from connectors.sandbox.records import (
    World,
    WorldCourse,
    WorldProgression,
    WorldSkill,
    WorldUser,
)

__all__ = [
    "CONTENT_COMPLETION_EVERY",
    "PASS_MARK",
    "STRING_FLAG_EVERY",
    "ServedRow",
    "StackOneData",
    "assignment",
    "completion",
    "content",
    "content_completion_ids",
    "content_ids",
    "course",
    "iso_duration",
    "serve",
    "skill",
    "stackone_datetime",
    "user",
]

_ASSIGNMENT_STATUS = {"ENROLLED": "pending", "IN_PROGRESS": "in_progress", "COMPLETED": "completed"}
_SOURCE_STATUS = {"pending": "Not Started", "in_progress": "In Progress", "completed": "Completed"}
#: Every how-many-th COMPLETED progression (world order) is a content completion.
CONTENT_COMPLETION_EVERY = 5
#: Every how-many-th user (world order) sends ``active`` as a string.
STRING_FLAG_EVERY = 10
PASS_MARK = 60.0


def stackone_datetime(moment: datetime | None) -> str | None:
    """StackOne's date-time spelling, e.g. ``2021-07-21T14:00:00.000Z``."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_duration(seconds: int | None) -> str | None:
    """``PT#H#M#S`` with zero parts left out (``PT0S`` for zero); None stays None."""
    if seconds is None:
        return None
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n]
    return "PT" + ("".join(parts) or "0S")


def content_ids(course_id: str) -> tuple[str, str]:
    """The IDs of a course's two content items: the course ID plus ``c1`` / ``c2``."""
    return f"{course_id}c1", f"{course_id}c2"


def content_completion_ids(world: World) -> frozenset[str]:
    """Progressions served as a content completion without an assignment.

    The 5th, 10th, 15th … progression with status COMPLETED in world order, counting
    every COMPLETED progression (deleted ones and those of deleted courses included).
    """
    completed = [p.id for p in world.progressions if p.status == "COMPLETED"]
    return frozenset(completed[CONTENT_COMPLETION_EVERY - 1 :: CONTENT_COMPLETION_EVERY])


@dataclass(frozen=True, slots=True)
class ServedRow:
    """One record as served, with the time ``filter[updated_after]`` compares."""

    body: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StackOneData:
    """Everything one linked account serves, in world order.

    Attributes:
        lists: Rows of each global list by its name (``users``, ``courses``, ``content``,
            ``skills``, ``assignments``, ``completions``).
        by_id: The same rows by name and record ID.
        of_user: Each user's ``assignments`` and ``completions`` by name and user ID.
    """

    lists: Mapping[str, tuple[ServedRow, ...]]
    by_id: Mapping[str, Mapping[str, ServedRow]] = field(init=False)
    of_user: Mapping[str, Mapping[str, tuple[ServedRow, ...]]] = field(init=False)

    def __post_init__(self) -> None:
        by_id = {name: {row.body["id"]: row for row in rows} for name, rows in self.lists.items()}
        of_user: dict[str, dict[str, list[ServedRow]]] = {}
        for name in ("assignments", "completions"):
            for row in self.lists[name]:
                of_user.setdefault(name, {}).setdefault(row.body["user_id"], []).append(row)
        # Frozen: filled once here, never changed.
        object.__setattr__(self, "by_id", by_id)
        object.__setattr__(
            self,
            "of_user",
            {n: {u: tuple(rows) for u, rows in users.items()} for n, users in of_user.items()},
        )


def _enum(value: str, source_value: str | None = None) -> dict[str, Any]:
    return {"value": value, "source_value": source_value or value}


def user(row: WorldUser, index: int) -> dict[str, Any]:
    active: bool | str = row.status == "ACTIVE"
    if index % STRING_FLAG_EVERY == STRING_FLAG_EVERY - 1:
        active = "true" if active else "false"  # StackOne allows both spellings
    return {
        "id": row.id,
        "remote_id": row.remote_id,
        "external_reference": None,
        "name": f"{row.first_name} {row.last_name}",
        "email": row.email,
        "phone_number": None,
        "active": active,
        "created_at": stackone_datetime(row.created_at),
        "updated_at": stackone_datetime(row.changed_at),
    }


def skill(row: WorldSkill) -> dict[str, Any]:
    return {"id": row.id, "remote_id": row.remote_id, "name": row.name, "active": True}


def course(world: World, row: WorldCourse) -> dict[str, Any]:
    newest = row.revisions[-1]
    provider = world.provider(row.provider_id).name if row.provider_id else None
    skills = [world.skill(s) for s in newest.skill_ids]
    return {
        "id": row.id,
        "remote_id": row.remote_id,
        "external_reference": None,
        "content_ids": list(content_ids(row.id)),
        "remote_content_ids": [f"{row.remote_id}-content-{n}" for n in (1, 2)],
        "title": newest.title,
        "description": newest.description,
        "url": newest.url,
        "active": newest.status == "ACTIVE",
        "skills": [
            {"id": s.id, "remote_id": s.remote_id, "name": s.name, "active": True}
            for s in skills
            if s.deleted_at is None
        ],
        "provider": provider,
        "created_at": stackone_datetime(row.created_at),
        "updated_at": stackone_datetime(row.changed_at),
    }


def content(row: WorldCourse, number: int) -> dict[str, Any]:
    newest = row.revisions[-1]
    return {
        "id": content_ids(row.id)[number - 1],
        "remote_id": f"{row.remote_id}-content-{number}",
        "external_reference": None,
        "course_ids": [row.id],
        "remote_course_ids": [row.remote_id],
        "title": f"{newest.title}: part {number}",
        "description": newest.description,
        "content_url": f"{newest.url}/content/{number}",
        "content_type": _enum("video"),
        "active": newest.status == "ACTIVE",
        "order": number,
        "created_at": stackone_datetime(row.created_at),
        "updated_at": stackone_datetime(row.changed_at),
    }


def _learning_object(world: World, row: WorldProgression, on_content: bool) -> dict[str, Any]:
    owner = world.course(row.course_id)
    learner = world.user(row.user_id)
    return {
        "learning_object_type": _enum("content" if on_content else "course"),
        "learning_object_id": content_ids(owner.id)[0] if on_content else owner.id,
        "remote_learning_object_id": (
            f"{owner.remote_id}-content-1" if on_content else owner.remote_id
        ),
        "learning_object_external_reference": None,
        "user_id": learner.id,
        "remote_user_id": learner.remote_id,
    }


def assignment(world: World, row: WorldProgression) -> dict[str, Any]:
    status = _ASSIGNMENT_STATUS[row.status]
    return {
        "id": f"{row.id}A",
        "remote_id": f"{row.remote_id}-assignment",
        **_learning_object(world, row, on_content=False),
        "status": _enum(status, _SOURCE_STATUS[status]),
        "progress": row.progress_percent,
        "assigned_at": stackone_datetime(row.enrolled_at),
        "due_date": stackone_datetime(row.due_at),
        "completed_at": stackone_datetime(row.completed_at),
        "created_at": stackone_datetime(row.enrolled_at),
        "updated_at": stackone_datetime(row.changed_at),
    }


def completion(world: World, row: WorldProgression, on_content: bool) -> dict[str, Any]:
    passed = row.score is None or row.score >= PASS_MARK
    score = None
    if row.score is not None:
        score = {"percentage": row.score, "raw_value": f"{row.score:g} / 100"}
    return {
        "id": f"{row.id}C",
        "remote_id": f"{row.remote_id}-completion",
        "external_reference": None,
        **_learning_object(world, row, on_content),
        "result": _enum("Pass", "passed") if passed else _enum("Fail", "failed"),
        "completed_at": stackone_datetime(row.completed_at),
        "created_at": stackone_datetime(row.completed_at),
        "updated_at": stackone_datetime(row.changed_at),
        "time_spent": iso_duration(row.time_spent_seconds),
        "certificate_url": None,
        "score": score,
    }


def serve(world: World) -> StackOneData:
    """Every row a linked account over ``world`` serves (see the module docstring)."""
    live = [c for c in world.courses if c.deleted_at is None]
    on_content = content_completion_ids(world)
    progressions = [
        p
        for p in world.progressions
        if p.deleted_at is None and world.course(p.course_id).deleted_at is None
    ]
    assignments = [
        ServedRow(assignment(world, p), p.changed_at)
        for p in progressions
        if p.status != "DROPPED" and p.id not in on_content
    ]
    completions = [
        ServedRow(completion(world, p, p.id in on_content), p.changed_at)
        for p in progressions
        if p.status == "COMPLETED"
    ]
    skills = [ServedRow(skill(s), s.changed_at) for s in world.skills if s.deleted_at is None]
    return StackOneData(
        lists={
            "users": tuple(ServedRow(user(u, i), u.changed_at) for i, u in enumerate(world.users)),
            "courses": tuple(ServedRow(course(world, c), c.changed_at) for c in live),
            "content": tuple(ServedRow(content(c, n), c.changed_at) for c in live for n in (1, 2)),
            "skills": tuple(skills),
            "assignments": tuple(assignments),
            "completions": tuple(completions),
        }
    )
