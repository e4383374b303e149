"""World records spelled as Skilljar v1 JSON; the rules are in `connectors.sandbox.skilljar`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from connectors.sandbox.records import World, WorldCourse, WorldProgression, WorldUser

__all__ = [
    "LESSONS",
    "course",
    "course_ref",
    "enrollment",
    "progress",
    "published_course",
    "skilljar_datetime",
    "user",
]

Json = dict[str, Any]

#: Lessons (all of them required) of every emulated course.
LESSONS = 10
_PASS_MARK = 60


def skilljar_datetime(moment: datetime | None) -> str | None:
    """Django REST Framework's spelling: ISO 8601 in UTC with ``Z``, microseconds if any."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _person(row: WorldUser) -> Json:
    return {
        "id": row.id,
        "email": row.email,
        "first_name": row.first_name,
        "last_name": row.last_name,
    }


def user(row: WorldUser, served: Sequence[WorldProgression]) -> Json:
    """A ``/v1/users`` item; ``served`` are the user's progressions the emulator serves."""
    inactive_at = row.deleted_at or (row.changed_at if row.status == "INACTIVE" else None)
    return {
        "user": _person(row),
        "registration_count": len(served),
        "completion_count": sum(1 for p in served if p.status == "COMPLETED"),
        "signed_up_at": skilljar_datetime(row.created_at),
        "latest_activity": skilljar_datetime(row.changed_at),
        "inactive_at": skilljar_datetime(inactive_at),
    }


def course(row: WorldCourse) -> Json:
    """A ``/v1/courses`` item: title and short description are the newest revision's."""
    newest = row.revisions[-1]
    return {
        "id": row.id,
        "title": newest.title,
        "short_description": newest.description,
        "long_description_html": "",
        "labels": [],
        "enforce_sequential_navigation": False,
        "created_at": skilljar_datetime(row.created_at),
        "modified_at": skilljar_datetime(row.changed_at),
    }


def course_ref(row: WorldCourse) -> Json:
    """The ``course`` object nested in published courses and course progress."""
    return {
        "id": row.id,
        "title": row.revisions[-1].title,
        "lesson_count": LESSONS,
        "required_lesson_count": LESSONS,
    }


def published_course(row: WorldCourse, index: int) -> Json:
    """Revision ``index`` of a course as a published course of the tenant's domain."""
    revision = row.revisions[index]
    return {
        "id": revision.id,
        "course": course_ref(row),
        "slug": f"{row.remote_id}-v{index + 1}",
        "course_url": revision.url,
        "hidden": revision.status == "INACTIVE",
        "registration_required": False,
    }


def _lessons(row: WorldProgression) -> int:
    def clamp(value: float, low: int, high: int) -> int:
        return max(low, min(high, round(value)))

    if row.status == "COMPLETED":
        return LESSONS
    if row.status == "IN_PROGRESS":
        percent = row.progress_percent if row.progress_percent is not None else 50
        return clamp(percent / 10, 1, LESSONS - 1)
    if row.status == "DROPPED":
        return clamp((row.progress_percent or 0) / 10, 0, LESSONS - 1)
    return 0


def _course_progress(row: WorldProgression) -> Json:
    done = _lessons(row)
    scored = row.status == "COMPLETED" and row.score is not None
    success = None
    if row.status == "COMPLETED":
        failed = row.score is not None and row.score < _PASS_MARK
        success = "FAILED" if failed else "PASSED"
    return {
        "course_progress_id": row.id,
        "completed_lesson_count": done,
        "completed_required_lesson_count": done,
        "completed_at": skilljar_datetime(row.completed_at),
        "latest_activity": skilljar_datetime(row.changed_at),
        "score": round(row.score) if scored and row.score is not None else None,
        "max_score": 100 if scored else None,
        "success_status": success,
    }


def progress(world: World, domain: str, row: WorldProgression) -> Json:
    """A ``/v1/users/{id}/published-courses`` item: one progression on ``domain``."""
    return {
        "published_course_id": row.revision_id,
        "domain_name": domain,
        "enrolled_at": skilljar_datetime(row.enrolled_at),
        "enrollment_id": row.id,
        "course": course_ref(world.course(row.course_id)),
        "course_progress": _course_progress(row),
        "all_enrollments": [
            {
                "course_progress_id": row.id,
                "active": row.status != "DROPPED",
                "expires_at": None,
                "enrollment_id": row.id,
            }
        ],
    }


def enrollment(world: World, row: WorldProgression) -> Json:
    """A ``…/published-courses/{id}/enrollments`` item (no progress data, as at Skilljar)."""
    return {
        "id": row.id,
        "user": _person(world.user(row.user_id)),
        "enrolled_at": skilljar_datetime(row.enrolled_at),
        "active": row.status != "DROPPED",
        "purchase": None,
    }
