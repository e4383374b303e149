"""Pure functions from StackOne payloads to the unified model: no I/O, no graph imports.

StackOne has no progression record. One :class:`LearningPair` joins a user's assignment
and completion of one learning object (see :func:`pair_records`); :func:`map_progression`
turns it into a Progression keyed ``"<user_id>:<learning_object_id>"``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.model import (
    Course,
    Progression,
    ProgressionResult,
    ProgressionStatus,
    Provider,
    Revision,
    RevisionStatus,
    Skill,
    User,
    UserStatus,
)
from connectors.stackone.payloads import (
    StackOneAssignment,
    StackOneCompletion,
    StackOneCourse,
    StackOneEnum,
    StackOneSkill,
    StackOneUser,
)

__all__ = [
    "COMPLETION_SOURCE_STATUS",
    "LearningPair",
    "course_of",
    "map_course",
    "map_progression",
    "map_skill",
    "map_user",
    "pair_records",
    "parse_duration",
    "progression_key",
    "split_progression_key",
]

#: ``source_status`` of a progression StackOne knows only from a completion.
COMPLETION_SOURCE_STATUS = "completion"
_ASSIGNMENT_STATUSES = {
    "pending": ProgressionStatus.ENROLLED,
    "in_progress": ProgressionStatus.IN_PROGRESS,
    "completed": ProgressionStatus.COMPLETED,
}
_RESULTS = {"pass": ProgressionResult.PASS, "fail": ProgressionResult.FAIL}
# Days and time parts only: years and months have no fixed length in seconds.
_DURATION = re.compile(
    r"P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:[.,]\d+)?)S)?)?",
    re.ASCII,
)
_KEY_SEPARATOR = ":"


def _kept(**fields: Any) -> dict[str, Any] | None:
    kept = {key: value for key, value in fields.items() if value not in (None, [], {})}
    return kept or None


def _enum_value(enum: StackOneEnum | None) -> str | None:
    return enum.value if enum is not None else None


def _status(active: bool | None) -> UserStatus | None:
    return None if active is None else UserStatus.ACTIVE if active else UserStatus.INACTIVE


def parse_duration(text: str | None) -> int | None:
    """Whole seconds of an ISO-8601 duration such as ``PT1H30M45S``, or None.

    Only days, hours, minutes and seconds are read; anything else (years, months,
    weeks, a sign, an empty ``P``/``PT``) is not a duration we can count: None.
    """
    if not text:
        return None
    match = _DURATION.fullmatch(text.strip().upper())
    if match is None or not any(match.groupdict().values()) or text.strip().upper().endswith("T"):
        return None
    days, hours, minutes = (int(match[name] or 0) for name in ("d", "h", "m"))
    seconds = float((match["s"] or "0").replace(",", "."))
    return int(((days * 24 + hours) * 60 + minutes) * 60 + seconds)


def map_user(payload: StackOneUser) -> User:
    """``name`` is split at its first space: StackOne keeps one name string."""
    first, _, last = (payload.name or "").strip().partition(" ")
    return User(
        id=payload.id,
        first_name=first or None,
        last_name=last.strip() or None,
        email=payload.email,
        status=_status(payload.active),
        created_at=payload.created_at,
        updated_at=payload.updated_at,
        remote_data=_kept(
            remote_id=payload.remote_id,
            external_reference=payload.external_reference,
            phone_number=payload.phone_number,
            unified_custom_fields=payload.unified_custom_fields,
        ),
    )


def map_skill(payload: StackOneSkill) -> Skill:
    return Skill(
        id=payload.id,
        name=payload.name,
        remote_data=_kept(remote_id=payload.remote_id, active=payload.active),
    )


def map_course(payload: StackOneCourse) -> Course:
    """A course with its one synthesized revision (``revision.id == course.id``).

    StackOne has no versions, so the revision repeats the course's description; its
    status is ACTIVE when the course is active.
    """
    skills = tuple(map_skill(skill) for skill in payload.skills or ())
    status = None
    if payload.active is not None:
        status = RevisionStatus.ACTIVE if payload.active else RevisionStatus.INACTIVE
    revision = Revision(
        id=payload.id,
        course_id=payload.id,
        title=payload.title,
        description=payload.description,
        url=payload.url,
        status=status,
        skills=skills,
        created_at=payload.created_at,
        updated_at=payload.updated_at,
    )
    provider = payload.provider
    return Course(
        id=payload.id,
        title=payload.title,
        description=payload.description,
        url=payload.url,
        provider=Provider(id=provider, name=provider) if provider else None,
        revisions=(revision,),
        skills=skills,
        created_at=payload.created_at,
        updated_at=payload.updated_at,
        remote_data=_kept(
            remote_id=payload.remote_id,
            external_reference=payload.external_reference,
            content_ids=payload.content_ids,
            unified_custom_fields=payload.unified_custom_fields,
        ),
    )


def progression_key(user_id: str, learning_object_id: str) -> str:
    """The Progression ID; StackOne IDs hold no ``:``, so the key splits back uniquely."""
    return f"{user_id}{_KEY_SEPARATOR}{learning_object_id}"


def split_progression_key(key: str) -> tuple[str, str] | None:
    """(user ID, learning object ID) of a Progression ID, or None if it is not one."""
    user_id, separator, learning_object_id = key.partition(_KEY_SEPARATOR)
    if not separator or not user_id or not learning_object_id:
        return None
    return user_id, learning_object_id


@dataclass(frozen=True, slots=True)
class LearningPair:
    """One user's assignment and completion of one learning object (either may be absent)."""

    user_id: str
    learning_object_id: str
    assignment: StackOneAssignment | None
    completion: StackOneCompletion | None

    @property
    def key(self) -> str:
        return progression_key(self.user_id, self.learning_object_id)

    @property
    def learning_object_type(self) -> str | None:
        """``course``, ``content``, ``collection`` …; the assignment's when both say."""
        records = (r for r in (self.assignment, self.completion) if r is not None)
        types = (_enum_value(record.learning_object_type) for record in records)
        return next((value for value in types if value is not None), None)


def _later(current: Any, candidate: Any, moment: str) -> bool:
    """True when ``candidate`` should replace ``current`` (the newer one wins; ties: later)."""
    old, new = getattr(current, moment), getattr(candidate, moment)
    return old is None or (new is not None and new >= old)


def pair_records(
    assignments: Iterable[StackOneAssignment],
    completions: Iterable[StackOneCompletion],
    user_id: str | None = None,
) -> list[LearningPair]:
    """Join assignments and completions on (user, learning object), in first-seen order.

    Args:
        assignments: Assignments in the vendor's order.
        completions: Completions in the vendor's order.
        user_id: The user a per-user list belongs to; fills a record without ``user_id``.

    Returns:
        One pair per key: assignments first, then completions without an assignment.
        Of several records of one kind for a key the newest wins (assignment by
        ``updated_at``, completion by ``completed_at``). Records naming no user or no
        learning object cannot be keyed and are left out.
    """
    joined: dict[tuple[str, str], list[Any]] = {}
    for index, records in enumerate((assignments, completions)):
        for record in records:
            owner = record.user_id or user_id
            if owner is None or not record.learning_object_id:
                continue
            slot = joined.setdefault((owner, record.learning_object_id), [None, None])
            moment = "updated_at" if index == 0 else "completed_at"
            if slot[index] is None or _later(slot[index], record, moment):
                slot[index] = record
    return [LearningPair(u, lo, a, c) for (u, lo), (a, c) in joined.items()]


def course_of(pair: LearningPair, content_courses: Mapping[str, str | None]) -> str | None:
    """The course a pair counts for: the object itself, or a content item's first course."""
    kind = pair.learning_object_type
    if kind == "course":
        return pair.learning_object_id
    if kind == "content":
        return content_courses.get(pair.learning_object_id)
    return None  # a collection or an unknown type belongs to no one course


def _extreme(values: Iterable[datetime | None], pick: Any) -> datetime | None:
    present = [value for value in values if value is not None]
    return pick(present) if present else None


def map_progression(pair: LearningPair, course_id: str | None) -> Progression:
    """The Progression of one pair; ``course_id`` is also its revision (see map_course)."""
    assignment, completion = pair.assignment, pair.completion
    status = _ASSIGNMENT_STATUSES.get(_enum_value(assignment.status) or "") if assignment else None
    if completion is not None:
        status = ProgressionStatus.COMPLETED
    progress = assignment.progress if assignment else None
    if status is ProgressionStatus.COMPLETED:
        progress = 100.0
    results = (_enum_value(r.result) for r in (completion, assignment) if r is not None)
    result = next((_RESULTS[v.lower()] for v in results if v and v.lower() in _RESULTS), None)
    records = [r for r in (assignment, completion) if r is not None]
    completed_at = next((r.completed_at for r in records[::-1] if r.completed_at), None)
    score = completion.score if completion else None
    return Progression(
        id=pair.key,
        user_id=pair.user_id,
        course_id=course_id,
        revision_id=course_id,
        status=status,
        source_status=(_enum_value(assignment.status) if assignment else COMPLETION_SOURCE_STATUS),
        enrolled_at=assignment.assigned_at if assignment else None,
        due_at=assignment.due_date if assignment else None,
        completed_at=completed_at,
        progress_percent=progress,
        score=score.percentage if score else None,
        result=result,
        time_spent_seconds=parse_duration(completion.time_spent) if completion else None,
        created_at=_extreme((r.created_at for r in records), min),
        updated_at=_extreme((r.updated_at for r in records), max),
        remote_data={
            "assignment": _dump(assignment),
            "completion": _dump(completion),
        },
    )


def _dump(record: StackOneAssignment | StackOneCompletion | None) -> dict[str, Any] | None:
    return record.model_dump(mode="json", exclude_none=True) if record is not None else None
