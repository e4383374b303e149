"""Pure functions from Kombo payloads to the unified model: no I/O, no graph imports."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from connectors.kombo.payloads import (
    KomboCourse,
    KomboProgression,
    KomboRecord,
    KomboRevision,
    KomboSkill,
    KomboSkillRef,
    KomboUser,
)
from connectors.model import (
    Course,
    Progression,
    ProgressionStatus,
    Provider,
    Revision,
    RevisionStatus,
    Skill,
    User,
    UserStatus,
)

__all__ = [
    "current_revision",
    "map_course",
    "map_progression",
    "map_revision",
    "map_skill",
    "map_user",
]


def _remote_data(payload: KomboRecord, **extra: Any) -> dict[str, Any] | None:
    """Kombo fields with no unified home: the underlying LMS's ID, custom fields, raw data."""
    data: dict[str, Any] = {
        "remote_id": payload.remote_id,
        "custom_fields": payload.custom_fields,
        "remote_data": payload.remote_data,
        **extra,
    }
    kept = {key: value for key, value in data.items() if value is not None}
    return kept or None


def _record_fields(payload: KomboRecord, **extra: Any) -> dict[str, Any]:
    return {
        "id": payload.id,
        "created_at": payload.remote_created_at,
        "updated_at": payload.changed_at,
        "deleted_at": payload.remote_deleted_at,
        "remote_data": _remote_data(payload, **extra),
    }


EnumT = TypeVar("EnumT", bound=StrEnum)


def _enum(kind: type[EnumT], value: str | None) -> EnumT | None:
    """The unified value, or None for a vendor value we do not know (kept in source_status)."""
    try:
        return kind(value) if value is not None else None
    except ValueError:
        return None


def _map_skill_ref(ref: KomboSkillRef) -> Skill:
    data = {"remote_id": ref.remote_id} if ref.remote_id is not None else None
    return Skill(id=ref.id, name=ref.name, remote_data=data)


def map_skill(payload: KomboSkill) -> Skill:
    return Skill(name=payload.name, **_record_fields(payload))


def map_user(payload: KomboUser) -> User:
    return User(
        first_name=payload.first_name,
        last_name=payload.last_name,
        email=payload.work_email,
        status=_enum(UserStatus, payload.status),
        **_record_fields(payload),
    )


def map_revision(payload: KomboRevision, course_id: str) -> Revision:
    """Map a nested revision; ``course_id`` comes from the parent when Kombo leaves it null."""
    skills = tuple(
        _map_skill_ref(assignment.skill)
        for assignment in payload.skill_assignments
        if assignment.skill is not None
    )
    return Revision(
        course_id=payload.course_id or course_id,
        title=payload.title,
        description=payload.description,
        status=_enum(RevisionStatus, payload.status),
        url=payload.remote_url,
        skills=skills,
        **_record_fields(payload),
    )


def current_revision(revisions: tuple[Revision, ...]) -> Revision | None:
    """The revision that describes the course now: the last live ACTIVE one, else the last live."""
    live = [r for r in revisions if r.deleted_at is None] or list(revisions)
    active = [r for r in live if r.status is RevisionStatus.ACTIVE]
    return (active or live)[-1] if live else None


def map_course(payload: KomboCourse) -> Course:
    revisions = tuple(map_revision(r, payload.id) for r in payload.revisions)
    current = current_revision(revisions)
    provider = payload.provider
    return Course(
        title=current.title if current else None,
        description=current.description if current else None,
        url=current.url if current else None,
        skills=current.skills if current else (),
        provider=Provider(
            id=provider.id,
            name=provider.name,
            remote_data={"remote_id": provider.remote_id} if provider.remote_id else None,
        )
        if provider
        else None,
        revisions=revisions,
        **_record_fields(payload, origin_id=payload.origin_id),
    )


def map_progression(payload: KomboProgression) -> Progression:
    revision = payload.course_revision
    course = revision.course if revision else None
    return Progression(
        user_id=payload.user_id,
        revision_id=payload.course_revision_id,
        course_id=course.id if course else None,
        status=_enum(ProgressionStatus, payload.status),
        source_status=payload.status,
        enrolled_at=payload.enrolled_at,
        completed_at=payload.completed_at,
        **_record_fields(payload),
    )
