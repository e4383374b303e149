"""The unified model: the one vocabulary between connectors and the graph.

Connectors map vendor JSON onto these classes; the graph layer reads nothing else.
Every record carries the vendor's own ID in ``id``; which configured source it came
from is tracked by the caller, so the same record type serves every source.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

__all__ = [
    "Course",
    "EntityKind",
    "Progression",
    "ProgressionResult",
    "ProgressionStatus",
    "Provider",
    "Record",
    "Revision",
    "RevisionStatus",
    "Skill",
    "User",
    "UserStatus",
]


class EntityKind(StrEnum):
    """The kinds of records a connector can list."""

    USERS = "users"
    COURSES = "courses"
    SKILLS = "skills"
    PROGRESSIONS = "progressions"


class ProgressionStatus(StrEnum):
    ENROLLED = "ENROLLED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    DROPPED = "DROPPED"


class ProgressionResult(StrEnum):
    PASS = "PASS"  # noqa: S105 - an outcome, not a password
    FAIL = "FAIL"


class RevisionStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


class UserStatus(StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"


class Record(BaseModel):
    """Fields every unified record has.

    Attributes:
        id: The vendor's own ID, the one its API accepts for look-ups.
        remote_data: Vendor fields that have no place in the model, kept verbatim.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    remote_data: dict[str, Any] | None = None


class Provider(Record):
    name: str | None = None


class Skill(Record):
    name: str | None = None


class Revision(Record):
    """One version of a course; progressions point at a revision."""

    course_id: str
    title: str | None = None
    description: str | None = None
    status: RevisionStatus | None = None
    url: str | None = None
    skills: tuple[Skill, ...] = ()


class Course(Record):
    """A course with all its revisions.

    ``title``, ``description``, ``url`` and ``skills`` describe the course as it is
    now, i.e. its current revision (see :func:`current_revision`), because most
    vendors keep those on the revision, not on the course.

    Attributes:
        revisions_listed: False where the vendor names a course's versions only on
            enrolments and serves no list of them (Absorb's ``courseVersionId``). Any
            revision ID then stands for a version of this course described by the
            course itself, since nothing else about it can be read.
    """

    title: str | None = None
    description: str | None = None
    url: str | None = None
    provider: Provider | None = None
    revisions: tuple[Revision, ...] = ()
    skills: tuple[Skill, ...] = ()
    revisions_listed: bool = True

    def revision(self, revision_id: str) -> Revision | None:
        listed = next((r for r in self.revisions if r.id == revision_id), None)
        if listed is not None or self.revisions_listed:
            return listed
        return Revision(
            id=revision_id,
            course_id=self.id,
            title=self.title,
            description=self.description,
            url=self.url,
            skills=self.skills,
            created_at=self.created_at,
            updated_at=self.updated_at,
            deleted_at=self.deleted_at,
        )


class User(Record):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    status: UserStatus | None = None


class Progression(Record):
    """A learner's enrolment in, progress through or completion of a course revision.

    Attributes:
        source_status: The vendor's own status value, kept so the mapping onto
            ``status`` can be revisited without losing information.
    """

    user_id: str
    course_id: str | None = None
    revision_id: str | None = None
    status: ProgressionStatus | None = None
    source_status: str | None = None
    enrolled_at: datetime | None = None
    completed_at: datetime | None = None
    due_at: datetime | None = None
    progress_percent: float | None = None
    score: float | None = None
    time_spent_seconds: int | None = None
    result: ProgressionResult | None = None
