"""StackOne's LMS JSON as pydantic models, spelled as StackOne spells it.

Only the fields we read are declared; anything else StackOne adds is ignored, so a new
vendor field never breaks parsing. Shapes follow StackOne's LMS OpenAPI document, which
tests/conformance checks them against: every field there is optional and nullable, ``id``
included. A record is kept when it has an ``id``; lists are read record by record
(:data:`~connectors.records.Records`), so one without an ID is skipped and reported
instead of failing its page.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

from connectors.records import OneRecord, Records

__all__ = [
    "ASSIGNMENTS_PAGE",
    "COMPLETIONS_PAGE",
    "CONTENT_ITEM",
    "COURSES_PAGE",
    "COURSE_ITEM",
    "ERROR_BODY",
    "SKILLS_PAGE",
    "SKILL_ITEM",
    "USERS_PAGE",
    "USER_ITEM",
    "StackOneAssignment",
    "StackOneCompletion",
    "StackOneContent",
    "StackOneCourse",
    "StackOneEnum",
    "StackOneErrorBody",
    "StackOneItem",
    "StackOneLearningRecord",
    "StackOneList",
    "StackOneScore",
    "StackOneSkill",
    "StackOneUser",
]

ItemT = TypeVar("ItemT")


def _flag(value: Any) -> Any:
    """StackOne sends booleans as JSON booleans or as ``"true"``/``"false"``.

    Any other value is read as unknown (None) rather than failing the whole page.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


Flag = Annotated[bool | None, BeforeValidator(_flag)]


def _text(value: Any) -> Any:
    """A number where the spec says string (its own ``raw_value`` example is ``87``)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


Text = Annotated[str | None, BeforeValidator(_text)]


class StackOneModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class StackOneEnum(StackOneModel):
    """StackOne's enum object: the unified ``value`` and the provider's ``source_value``."""

    value: str | None = None  # kept as sent: a new vendor value must not fail the page
    source_value: Any = None


class StackOneSkill(StackOneModel):
    id: str
    remote_id: str | None = None
    name: str | None = None
    active: Flag = None


class StackOneCourse(StackOneModel):
    id: str
    remote_id: str | None = None
    external_reference: str | None = None
    content_ids: list[str] | None = None
    title: str | None = None
    description: str | None = None
    url: str | None = None
    active: Flag = None
    skills: Records[StackOneSkill] | None = None
    provider: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    unified_custom_fields: dict[str, Any] | None = None


class StackOneContent(StackOneModel):
    """A learning object inside courses; we read it only to find its course."""

    id: str
    remote_id: str | None = None
    course_ids: list[str] | None = None


class StackOneUser(StackOneModel):
    id: str
    remote_id: str | None = None
    external_reference: str | None = None
    name: str | None = None
    email: str | None = None
    phone_number: str | None = None
    active: Flag = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    unified_custom_fields: dict[str, Any] | None = None


class StackOneLearningRecord(StackOneModel):
    """What assignments and completions share: a user and a learning object.

    Its own ``id`` is not what identifies it here: a progression is keyed by user and
    learning object, so a record naming no learning object is the unusable one (skipped
    and reported), while one without an ``id`` is read. The user may be missing: a
    per-user list names it.
    """

    id: str | None = None
    remote_id: str | None = None
    user_id: str | None = None
    remote_user_id: str | None = None
    learning_object_id: Annotated[str, Field(min_length=1)]
    remote_learning_object_id: str | None = None
    learning_object_external_reference: str | None = None
    learning_object_type: StackOneEnum | None = None
    result: StackOneEnum | None = None
    completed_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    certificate_url: str | None = None


class StackOneAssignment(StackOneLearningRecord):
    status: StackOneEnum | None = None
    progress: float | None = None
    assigned_at: datetime | None = None
    due_date: datetime | None = None


class StackOneScore(StackOneModel):
    percentage: float | None = None
    raw_value: Text = None


class StackOneCompletion(StackOneLearningRecord):
    time_spent: str | None = None  # ISO-8601 duration, e.g. PT1H30M45S
    score: StackOneScore | None = None


class StackOneList(StackOneModel, Generic[ItemT]):
    """A list page: ``next`` is the cursor to send back as ``next=``; null on the last page.

    ``total`` is the size of the whole list where StackOne says (courses only).
    """

    next: str | None = None
    total: float | None = None
    data: Records[ItemT]


class StackOneItem(StackOneModel, Generic[ItemT]):
    """One record; None (reported as a bad record) when it has no ID."""

    data: OneRecord[ItemT]


class StackOneErrorBody(StackOneModel):
    """StackOne's error body; ``errorCode`` appears in some connector errors only."""

    status_code: int = Field(alias="statusCode")
    message: str | list[str] | None = None
    error_code: str | None = Field(default=None, alias="errorCode")


# Built once: constructing a TypeAdapter compiles a validator.
USERS_PAGE = TypeAdapter(StackOneList[StackOneUser])
COURSES_PAGE = TypeAdapter(StackOneList[StackOneCourse])
SKILLS_PAGE = TypeAdapter(StackOneList[StackOneSkill])
ASSIGNMENTS_PAGE = TypeAdapter(StackOneList[StackOneAssignment])
COMPLETIONS_PAGE = TypeAdapter(StackOneList[StackOneCompletion])
USER_ITEM = TypeAdapter(StackOneItem[StackOneUser])
COURSE_ITEM = TypeAdapter(StackOneItem[StackOneCourse])
SKILL_ITEM = TypeAdapter(StackOneItem[StackOneSkill])
CONTENT_ITEM = TypeAdapter(StackOneItem[StackOneContent])
ERROR_BODY = TypeAdapter(StackOneErrorBody)
