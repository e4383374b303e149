"""Kombo's JSON as pydantic models, spelled as Kombo spells it.

Only the fields we read are declared; anything else Kombo adds is ignored, so a new
vendor field never breaks parsing. Shapes follow Kombo's OpenAPI (seed documents
000 and 001 in shared/seeds).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter

from connectors.records import Records

__all__ = [
    "COURSES_PAGE",
    "PROGRESSIONS_PAGE",
    "SKILLS_PAGE",
    "USERS_PAGE",
    "KomboCourse",
    "KomboErrorBody",
    "KomboPage",
    "KomboProgression",
    "KomboRevision",
    "KomboSkill",
    "KomboUser",
]

ItemT = TypeVar("ItemT")


class KomboModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class KomboRecord(KomboModel):
    id: str
    remote_id: str | None = None
    changed_at: datetime | None = None
    remote_created_at: datetime | None = None
    remote_deleted_at: datetime | None = None
    remote_data: dict[str, Any] | None = None
    custom_fields: dict[str, Any] | None = None


class KomboSkillRef(KomboModel):
    id: str
    remote_id: str | None = None
    name: str | None = None


class KomboSkillAssignment(KomboModel):
    skill: KomboSkillRef | None = None


class KomboProvider(KomboModel):
    id: str
    remote_id: str | None = None
    name: str | None = None


class KomboRevision(KomboRecord):
    course_id: str | None = None
    title: str | None = None
    description: str | None = None
    remote_url: str | None = None
    status: str | None = None  # kept as sent: a new vendor value must not fail the page
    skill_assignments: Records[KomboSkillAssignment] = []


class KomboCourse(KomboRecord):
    provider_id: str | None = None
    origin_id: str | None = None
    provider: KomboProvider | None = None
    revisions: Records[KomboRevision] = []


class KomboUser(KomboRecord):
    first_name: str | None = None
    last_name: str | None = None
    work_email: str | None = None
    status: str | None = None  # kept as sent: a new vendor value must not fail the page


class KomboSkill(KomboRecord):
    name: str | None = None


class KomboCourseRef(KomboModel):
    id: str
    remote_id: str | None = None


class KomboRevisionRef(KomboModel):
    id: str
    remote_id: str | None = None
    title: str | None = None
    course: KomboCourseRef | None = None


class KomboProgression(KomboRecord):
    user_id: str
    course_revision_id: str
    status: str | None = None  # kept as sent; mapped in mapping.py
    enrolled_at: datetime | None = None
    completed_at: datetime | None = None
    course_revision: KomboRevisionRef | None = None


class KomboPageData(KomboModel, Generic[ItemT]):
    next: str | None
    results: Records[ItemT]


class KomboPage(KomboModel, Generic[ItemT]):
    status: Literal["success"]
    data: KomboPageData[ItemT]


class KomboErrorDetail(KomboModel):
    code: str | None = None
    title: str | None = None
    message: str | None = None


class KomboErrorBody(KomboModel):
    status: Literal["error"]
    error: KomboErrorDetail


# Built once: constructing a TypeAdapter compiles a validator.
USERS_PAGE = TypeAdapter(KomboPage[KomboUser])
COURSES_PAGE = TypeAdapter(KomboPage[KomboCourse])
SKILLS_PAGE = TypeAdapter(KomboPage[KomboSkill])
PROGRESSIONS_PAGE = TypeAdapter(KomboPage[KomboProgression])
