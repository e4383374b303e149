"""Skilljar v1 JSON as pydantic models; unknown fields are ignored, spellings are Skilljar's."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, model_validator

__all__ = [
    "COURSE",
    "COURSES_PAGE",
    "PROGRESS",
    "PROGRESS_PAGE",
    "PUBLISHED_PAGE",
    "USER",
    "USERS_PAGE",
    "Course",
    "CourseProgress",
    "CourseRef",
    "Enrollment",
    "Person",
    "Progress",
    "PublishedCourse",
    "SkilljarPage",
    "UserItem",
]

T = TypeVar("T")


class Payload(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class SkilljarPage(Payload, Generic[T]):
    """DRF pagination; the spec types some lists as bare arrays, so accept those too."""

    count: int | None = None
    next: str | None = None
    results: list[T]

    @model_validator(mode="before")
    @classmethod
    def _bare_array(cls, data: Any) -> Any:
        return {"results": data} if isinstance(data, list) else data


class Person(Payload):
    id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class UserItem(Payload):
    user: Person
    signed_up_at: datetime | None = None
    latest_activity: datetime | None = None
    inactive_at: datetime | None = None


class Course(Payload):
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


class PublishedCourse(Payload):
    id: str
    course: CourseRef
    course_url: str | None = None
    hidden: bool | None = None


class Enrollment(Payload):
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
    active: bool | None = None


class Progress(Payload):
    published_course_id: str
    domain_name: str | None = None
    enrolled_at: datetime | None = None
    course: CourseRef
    course_progress: CourseProgress | None = None
    all_enrollments: list[EnrollmentState] = []


USER = TypeAdapter(UserItem)
USERS_PAGE = TypeAdapter(SkilljarPage[UserItem])
COURSE = TypeAdapter(Course)
COURSES_PAGE = TypeAdapter(SkilljarPage[Course])
PUBLISHED_PAGE = TypeAdapter(SkilljarPage[PublishedCourse])
ENROLLMENTS_PAGE = TypeAdapter(SkilljarPage[Enrollment])
PROGRESS = TypeAdapter(Progress)
PROGRESS_PAGE = TypeAdapter(SkilljarPage[Progress])
