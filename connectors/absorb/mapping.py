"""Pure functions from Absorb payloads to the unified model: no I/O, no graph imports.

Status mapping (shared/vendors/README.md, our proposal there): 0 NotStarted,
2 PendingApproval, 8 OnWaitlist → ENROLLED; 1 InProgress, 7 PendingEvaluationRequired,
11 PendingProctor, 12 ReadyForReview → IN_PROGRESS; 3 Complete → COMPLETED (PASS);
5 Failed → COMPLETED (FAIL); 4 NotComplete, 6 Declined, 9 Absent → DROPPED;
10 NotApplicable and unknown values → no status. ``source_status`` always keeps
Absorb's own name of the value.
"""

from __future__ import annotations

from collections.abc import Mapping

from connectors.absorb.payloads import AbsorbCourse, AbsorbEnrollment, AbsorbUser
from connectors.model import (
    Course,
    Progression,
    ProgressionResult,
    ProgressionStatus,
    User,
    UserStatus,
)

__all__ = [
    "ENROLLMENT_STATUS_NAMES",
    "TICKS_PER_SECOND",
    "is_current",
    "map_course",
    "map_progression",
    "map_user",
    "source_status",
]

#: .NET ticks (100 ns) per second: ``timeSpentTicks`` is counted in them.
TICKS_PER_SECOND = 10_000_000

#: Absorb's names of the enrollment status values (the seed's enum).
ENROLLMENT_STATUS_NAMES: Mapping[int, str] = {
    0: "NotStarted",
    1: "InProgress",
    2: "PendingApproval",
    3: "Complete",
    4: "NotComplete",
    5: "Failed",
    6: "Declined",
    7: "PendingEvaluationRequired",
    8: "OnWaitlist",
    9: "Absent",
    10: "NotApplicable",
    11: "PendingProctor",
    12: "ReadyForReview",
}

_STATUS: Mapping[int, tuple[ProgressionStatus, ProgressionResult | None]] = {
    0: (ProgressionStatus.ENROLLED, None),
    2: (ProgressionStatus.ENROLLED, None),
    8: (ProgressionStatus.ENROLLED, None),
    1: (ProgressionStatus.IN_PROGRESS, None),
    7: (ProgressionStatus.IN_PROGRESS, None),
    11: (ProgressionStatus.IN_PROGRESS, None),
    12: (ProgressionStatus.IN_PROGRESS, None),
    3: (ProgressionStatus.COMPLETED, ProgressionResult.PASS),
    5: (ProgressionStatus.COMPLETED, ProgressionResult.FAIL),
    4: (ProgressionStatus.DROPPED, None),
    6: (ProgressionStatus.DROPPED, None),
    9: (ProgressionStatus.DROPPED, None),
}

_USER_STATUS: Mapping[int | None, UserStatus] = {0: UserStatus.ACTIVE, 1: UserStatus.INACTIVE}


def source_status(value: int | None) -> str | None:
    """Absorb's name of a status value; an unknown number is kept as its digits."""
    if value is None:
        return None
    return ENROLLMENT_STATUS_NAMES.get(value, str(value))


def is_current(payload: AbsorbEnrollment) -> bool:
    """False for a historical enrollment (``isActive: false``, kept by Absorb after a
    re-enrollment); those never appear as progressions."""
    return payload.is_active is not False


def map_user(payload: AbsorbUser) -> User:
    return User(
        id=payload.id,
        first_name=payload.first_name,
        last_name=payload.last_name,
        email=payload.email_address,
        status=_USER_STATUS.get(payload.active_status),
        created_at=payload.date_added,
        updated_at=payload.date_edited,
        remote_data=payload.raw,
    )


def map_course(payload: AbsorbCourse) -> Course:
    """Absorb lists no course versions: every ``courseVersionId`` reads as the course.

    The course's ``activeStatus`` has no unified field (revisions carry status, and
    there are none listed); it stays in ``remote_data``.
    """
    return Course(
        id=payload.id,
        title=payload.name,
        description=payload.description,
        revisions=(),
        revisions_listed=False,
        created_at=payload.date_added,
        updated_at=payload.date_edited,
        remote_data=payload.raw,
    )


def map_progression(payload: AbsorbEnrollment) -> Progression:
    status, result = (None, None)
    if payload.status is not None:
        status, result = _STATUS.get(payload.status, (None, None))
    ticks = payload.time_spent_ticks
    return Progression(
        id=payload.id,
        user_id=payload.user_id,
        course_id=payload.course_id,
        revision_id=payload.course_version_id,
        status=status,
        result=result,
        source_status=source_status(payload.status),
        enrolled_at=payload.date_added,
        completed_at=payload.date_completed,
        due_at=payload.date_due,
        progress_percent=payload.progress,
        score=payload.score,
        time_spent_seconds=ticks // TICKS_PER_SECOND if ticks is not None else None,
        created_at=payload.date_added,
        updated_at=payload.date_edited,
        remote_data=payload.raw,
    )
