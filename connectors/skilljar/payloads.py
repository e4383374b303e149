"""Skilljar v1 JSON as pydantic models; unknown fields are ignored, spellings are Skilljar's.

Top-level records keep the item exactly as received in :attr:`Item.raw`, so the mapping
can hand it on as ``remote_data`` while the models only declare what the mapping reads.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Self, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    PrivateAttr,
    TypeAdapter,
    model_validator,
)

from connectors.records import OneRecord, Records

__all__ = [
    "COURSE",
    "COURSES_PAGE",
    "ENROLLMENTS_PAGE",
    "PROGRESS",
    "PROGRESS_PAGE",
    "PUBLISHED_PAGE",
    "USER",
    "USERS_PAGE",
    "Course",
    "CourseProgress",
    "CourseRef",
    "Enrollment",
    "EnrollmentState",
    "ErrorBody",
    "Item",
    "Person",
    "Progress",
    "PublishedCourse",
    "SkilljarPage",
    "UserItem",
]

T = TypeVar("T")


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Item(Payload):
    """A record as a list or look-up returns it, with the received JSON kept verbatim."""

    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        item = handler(data)
        if isinstance(data, dict):
            item._raw = dict(data)
        return item

    @property
    def raw(self) -> dict[str, Any]:
        """The JSON object this record was read from (a shallow copy)."""
        return dict(self._raw)


class SkilljarPage(Payload, Generic[T]):
    """DRF pagination; the spec types some lists as bare arrays, so accept those too."""

    count: int | None = None
    next: str | None = None
    results: Records[T]

    @model_validator(mode="before")
    @classmethod
    def _bare_array(cls, data: Any) -> Any:
        return {"results": data} if isinstance(data, list) else data


class Person(Payload):
    id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class UserItem(Item):
    """A ``/v1/users`` item; ``inactive_at`` null means the user is active."""

    user: Person
    signed_up_at: datetime | None = None
    latest_activity: datetime | None = None
    inactive_at: datetime | None = None


class Course(Item):
    """A course as authored; it is published to domains as published courses."""

    id: str
    title: str | None = None
    short_description: str | None = None
    created_at: datetime | None = None
    modified_at: datetime | None = None


class CourseRef(Payload):
    id: str
    title: str | None = None
    lesson_count: int | None = None
    required_lesson_count: int | None = None


class PublishedCourse(Item):
    """A course made available on one domain."""

    id: str
    course: CourseRef
    course_url: str | None = None
    hidden: bool | None = None


class Enrollment(Item):
    """An enrolment in a published course (no progress data)."""

    id: str | None = None
    user: Person
    active: bool | None = None


class CourseProgress(Payload):
    course_progress_id: str | None = None
    completed_lesson_count: int | None = None
    completed_required_lesson_count: int | None = None
    completed_at: datetime | None = None
    latest_activity: datetime | None = None
    score: float | None = None
    max_score: float | None = None
    success_status: str | None = None


class EnrollmentState(Payload):
    enrollment_id: str | None = None
    active: bool | None = None


class Progress(Item):
    """A ``/v1/users/{user_id}/published-courses`` item: one user in one published course."""

    published_course_id: str
    domain_name: str | None = None
    enrolled_at: datetime | None = None
    course: CourseRef
    course_progress: CourseProgress | None = None
    all_enrollments: list[EnrollmentState] = []


class ErrorItem(Payload):
    code: str | None = None


class ErrorBody(Payload):
    """DRF's ``{"detail": …}``; ``errors[].code`` in case v1 ever answers like v2 does."""

    detail: str | None = None
    errors: list[ErrorItem] = []


# A look-up's body is the record itself: one without the IDs we need reads as absent
# (and is reported), like a record skipped on a list.
USER = TypeAdapter(OneRecord[UserItem])
USERS_PAGE = TypeAdapter(SkilljarPage[UserItem])
COURSE = TypeAdapter(OneRecord[Course])
COURSES_PAGE = TypeAdapter(SkilljarPage[Course])
PUBLISHED_PAGE = TypeAdapter(SkilljarPage[PublishedCourse])
ENROLLMENTS_PAGE = TypeAdapter(SkilljarPage[Enrollment])
PROGRESS = TypeAdapter(OneRecord[Progress])
PROGRESS_PAGE = TypeAdapter(SkilljarPage[Progress])
