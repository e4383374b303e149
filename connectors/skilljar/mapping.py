"""Skilljar JSON → the unified model: pure functions, no I/O.

A revision is a published course (a course made available on one domain); a progression
is one user's course progress in one published course, keyed ``<user id>:<published
course id>`` because Skilljar has no ID for the pair that it can look up.
"""

from __future__ import annotations

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
    "map_course",
    "map_progression",
    "map_revision",
    "map_user",
    "progression_key",
    "split_progression_key",
]

_RESULTS = {"PASSED": ProgressionResult.PASS, "FAILED": ProgressionResult.FAIL}


def progression_key(user_id: str, published_course_id: str) -> str:
    return f"{user_id}:{published_course_id}"


def split_progression_key(key: str) -> tuple[str, str] | None:
    """(user ID, published course ID), or None for a key this connector did not issue."""
    user_id, sep, published_id = key.partition(":")
    if not sep or not user_id.isalnum() or not published_id.isalnum():
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
        remote_data=item.model_dump(mode="json"),
    )


def map_revision(published: payloads.PublishedCourse) -> Revision:
    return Revision(
        id=published.id,
        course_id=published.course.id,
        title=published.course.title,
        url=published.course_url,
        status=RevisionStatus.INACTIVE if published.hidden else RevisionStatus.ACTIVE,
        remote_data=published.model_dump(mode="json"),
    )


def map_course(course: payloads.Course, published: Sequence[payloads.PublishedCourse]) -> Course:
    """The course with its published courses on the configured domain as revisions."""
    revisions = tuple(map_revision(p) for p in published)
    shown = [r for r in revisions if r.status is RevisionStatus.ACTIVE] or list(revisions)
    return Course(
        id=course.id,
        title=course.title,
        description=course.short_description,
        url=shown[-1].url if shown else None,
        revisions=revisions,
        created_at=course.created_at,
        updated_at=course.modified_at,
        remote_data=course.model_dump(mode="json"),
    )


def _status(item: payloads.Progress) -> tuple[ProgressionStatus, str]:
    progress = item.course_progress
    if progress is not None and progress.completed_at is not None:
        return ProgressionStatus.COMPLETED, "completed"
    if item.all_enrollments and not any(e.active for e in item.all_enrollments):
        return ProgressionStatus.DROPPED, "inactive"
    if progress is not None and (progress.completed_lesson_count or 0) > 0:
        return ProgressionStatus.IN_PROGRESS, "in_progress"
    return ProgressionStatus.ENROLLED, "enrolled"


def map_progression(user_id: str, item: payloads.Progress) -> Progression:
    status, source_status = _status(item)
    progress = item.course_progress or payloads.CourseProgress()
    required = item.course.required_lesson_count
    percent = None
    if required and progress.completed_required_lesson_count is not None:
        percent = progress.completed_required_lesson_count / required * 100
    score = None
    if progress.score is not None and progress.max_score:
        score = progress.score / progress.max_score * 100
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
        remote_data=item.model_dump(mode="json"),
    )
