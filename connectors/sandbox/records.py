"""The records of a generated world: frozen, vendor-neutral, and free of I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

__all__ = [
    "ProgressionStatus",
    "Status",
    "World",
    "WorldCourse",
    "WorldProgression",
    "WorldProvider",
    "WorldRevision",
    "WorldSkill",
    "WorldUser",
]

ProgressionStatus = Literal["ENROLLED", "IN_PROGRESS", "COMPLETED", "DROPPED"]
Status = Literal["ACTIVE", "INACTIVE"]


@dataclass(frozen=True, slots=True)
class WorldSkill:
    """A skill that course revisions can teach."""

    id: str
    remote_id: str
    name: str
    changed_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True, slots=True)
class WorldProvider:
    """The company or catalogue a course comes from."""

    id: str
    remote_id: str
    name: str


@dataclass(frozen=True, slots=True)
class WorldRevision:
    """One version of a course; learners progress through revisions, not courses."""

    id: str
    remote_id: str
    course_id: str
    title: str
    description: str
    url: str
    status: Status
    skill_ids: tuple[str, ...]
    created_at: datetime
    changed_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True, slots=True)
class WorldCourse:
    """A course with its revisions, oldest first (the newest is the ACTIVE one, if any)."""

    id: str
    remote_id: str
    provider_id: str | None
    origin_id: str | None
    created_at: datetime
    changed_at: datetime
    deleted_at: datetime | None
    revisions: tuple[WorldRevision, ...]


@dataclass(frozen=True, slots=True)
class WorldUser:
    """A learner; ``email`` is unique case-insensitively."""

    id: str
    remote_id: str
    first_name: str
    last_name: str
    email: str
    status: Status
    created_at: datetime
    changed_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True, slots=True)
class WorldProgression:
    """A user's enrolment in one course revision; ``completed_at`` is set iff COMPLETED."""

    id: str
    remote_id: str
    user_id: str
    revision_id: str
    course_id: str
    status: ProgressionStatus
    enrolled_at: datetime
    completed_at: datetime | None
    changed_at: datetime
    deleted_at: datetime | None
    progress_percent: float | None
    score: float | None
    due_at: datetime | None
    time_spent_seconds: int | None


@dataclass(frozen=True, slots=True)
class World:
    """One generated LMS tenant; look-ups raise ``KeyError`` for unknown IDs."""

    users: tuple[WorldUser, ...]
    courses: tuple[WorldCourse, ...]
    skills: tuple[WorldSkill, ...]
    providers: tuple[WorldProvider, ...]
    progressions: tuple[WorldProgression, ...]
    _users: dict[str, WorldUser] = field(init=False, repr=False, compare=False)
    _courses: dict[str, WorldCourse] = field(init=False, repr=False, compare=False)
    _revisions: dict[str, WorldRevision] = field(init=False, repr=False, compare=False)
    _skills: dict[str, WorldSkill] = field(init=False, repr=False, compare=False)
    _providers: dict[str, WorldProvider] = field(init=False, repr=False, compare=False)
    _by_user: dict[str, tuple[WorldProgression, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_user: dict[str, list[WorldProgression]] = {}
        for progression in self.progressions:
            by_user.setdefault(progression.user_id, []).append(progression)
        revisions = {r.id: r for c in self.courses for r in c.revisions}
        # Frozen dataclass: the indexes are filled once, here, and never change.
        object.__setattr__(self, "_users", {u.id: u for u in self.users})
        object.__setattr__(self, "_courses", {c.id: c for c in self.courses})
        object.__setattr__(self, "_revisions", revisions)
        object.__setattr__(self, "_skills", {s.id: s for s in self.skills})
        object.__setattr__(self, "_providers", {p.id: p for p in self.providers})
        object.__setattr__(self, "_by_user", {k: tuple(v) for k, v in by_user.items()})

    def user(self, user_id: str) -> WorldUser:
        """The user with this ID."""
        return self._users[user_id]

    def course(self, course_id: str) -> WorldCourse:
        """The course with this ID."""
        return self._courses[course_id]

    def revision(self, revision_id: str) -> WorldRevision:
        """The course revision with this ID."""
        return self._revisions[revision_id]

    def skill(self, skill_id: str) -> WorldSkill:
        """The skill with this ID."""
        return self._skills[skill_id]

    def provider(self, provider_id: str) -> WorldProvider:
        """The course provider with this ID."""
        return self._providers[provider_id]

    def progressions_of(self, user_id: str) -> tuple[WorldProgression, ...]:
        """The user's progressions in world order (empty for unknown users)."""
        return self._by_user.get(user_id, ())
