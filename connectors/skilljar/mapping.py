"""Skilljar JSON → the unified model: pure functions, no I/O.

A revision is a published course (a course made available on one domain); a progression
is one user's course progress in one published course, keyed ``<user id>:<published
course id>`` because Skilljar has no ID for the pair that it can look up. Skilljar IDs are
``[0-9a-z]+``, so ``:`` cannot occur inside either half.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from connectors.model import (
    Course,
    Progression,
    ProgressionResult,
    ProgressionStatus,
    Revision,
    RevisionStatus,
    User,
    UserStatus,
)
from connectors.skilljar import payloads

__all__ = [
    "is_skilljar_id",
    "map_course",
    "map_progression",
    "map_revision",
    "map_user",
    "progression_key",
    "progression_status",
    "split_progression_key",
]

# Skilljar's spec gives IDs as ^[0-9a-z]+$; upper case is let through, as it is harmless.
_ID = re.compile(r"[0-9A-Za-z]+", re.ASCII)
_RESULTS = {"PASSED": ProgressionResult.PASS, "FAILED": ProgressionResult.FAIL}


def is_skilljar_id(value: str) -> bool:
    """Whether ``value`` can be a Skilljar ID at all (others are unknown without asking)."""
    return _ID.fullmatch(value) is not None


def progression_key(user_id: str, published_course_id: str) -> str:
    return f"{user_id}:{published_course_id}"


def split_progression_key(key: str) -> tuple[str, str] | None:
    """(user ID, published course ID), or None for a key this connector did not issue."""
    user_id, sep, published_id = key.partition(":")
    if not sep or not is_skilljar_id(user_id) or not is_skilljar_id(published_id):
        return None
    return user_id, published_id


def map_user(item: payloads.UserItem) -> User:
    return User(
        id=item.user.id,
        first_name=item.user.first_name,
        last_name=item.user.last_name,
        email=item.user.email,
        status=UserStatus.ACTIVE if item.inactive_at is None else UserStatus.INACTIVE,
        created_at=item.signed_up_at,
        updated_at=item.latest_activity,
        remote_data=item.raw,
    )


def map_revision(published: payloads.PublishedCourse) -> Revision:
    return Revision(
        id=published.id,
        course_id=published.course.id,
        title=published.course.title,
        url=published.course_url,
        status=RevisionStatus.INACTIVE if published.hidden else RevisionStatus.ACTIVE,
        remote_data=published.raw,
    )


def map_course(course: payloads.Course, published: Sequence[payloads.PublishedCourse]) -> Course:
    """The course with its published courses on the configured domain as revisions.

    A Skilljar course has no URL of its own: it is the last visible published course's
    (the last one at all when every one is hidden).
    """
    revisions = tuple(map_revision(p) for p in published if p.course.id == course.id)
    shown = [r for r in revisions if r.status is RevisionStatus.ACTIVE] or list(revisions)
    return Course(
        id=course.id,
        title=course.title,
        description=course.short_description,
        url=shown[-1].url if shown else None,
        revisions=revisions,
        created_at=course.created_at,
        updated_at=course.modified_at,
        remote_data=course.raw,
    )


def progression_status(item: payloads.Progress) -> tuple[ProgressionStatus, str]:
    """The unified status and our short ``source_status`` for a course progress item.

    Skilljar has no status field: completion decides first, then whether every enrolment
    was deactivated (checked before activity, so a learner who started and was removed
    counts as dropped), then whether any lesson was completed.
    """
    progress = item.course_progress
    if progress is not None and progress.completed_at is not None:
        return ProgressionStatus.COMPLETED, "completed"
    enrolments = item.all_enrollments
    if enrolments and all(e.active is False for e in enrolments):
        return ProgressionStatus.DROPPED, "inactive"
    if progress is not None and (progress.completed_lesson_count or 0) > 0:
        return ProgressionStatus.IN_PROGRESS, "in_progress"
    return ProgressionStatus.ENROLLED, "enrolled"


def map_progression(user_id: str, item: payloads.Progress) -> Progression:
    """One user's progress in one published course (the item does not name the user)."""
    status, source_status = progression_status(item)
    progress = item.course_progress or payloads.CourseProgress()
    required = item.course.required_lesson_count
    percent = None
    if required and progress.completed_required_lesson_count is not None:
        percent = progress.completed_required_lesson_count * 100 / required
    score = None
    if progress.score is not None and progress.max_score:
        score = progress.score * 100 / progress.max_score  # 58 of 100 is 58.0, not 57.99…
    return Progression(
        id=progression_key(user_id, item.published_course_id),
        user_id=user_id,
        course_id=item.course.id,
        revision_id=item.published_course_id,
        status=status,
        source_status=source_status,
        enrolled_at=item.enrolled_at,
        completed_at=progress.completed_at,
        updated_at=progress.latest_activity,
        progress_percent=percent,
        score=score,
        result=_RESULTS.get(progress.success_status or ""),
        remote_data=item.raw,
    )
