"""Absorb's JSON as pydantic models, spelled as Absorb spells it (camelCase).

Only the fields we read are declared; anything else Absorb adds is ignored when parsing,
but every record keeps the object exactly as received in :attr:`AbsorbRecord.raw`, so
the mapping can hand it on as ``remote_data``. Shapes follow the v2 enrollments
reference (seed 002 in shared/seeds); user and course fields are UNVERIFIED for v2
(see shared/vendors/absorb.md §6).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    PrivateAttr,
    TypeAdapter,
    model_validator,
)
from pydantic.alias_generators import to_camel

from connectors.records import OneRecord, Records

__all__ = [
    "COURSES_PAGE",
    "ENROLLMENT",
    "ENROLLMENTS",
    "ENROLLMENTS_PAGE",
    "TOKEN",
    "USERS_PAGE",
    "AbsorbCourse",
    "AbsorbEnrollment",
    "AbsorbErrorBody",
    "AbsorbPage",
    "AbsorbRecord",
    "AbsorbUser",
]

ItemT = TypeVar("ItemT")


def _utc(moment: datetime) -> datetime:
    # Absorb's samples end in "Z"; a date-time without an offset is read as UTC too.
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


AbsorbDateTime = Annotated[datetime, AfterValidator(_utc)]


class AbsorbModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, alias_generator=to_camel)


class AbsorbRecord(AbsorbModel):
    """A record with a GUID; ``raw`` is the object as Absorb sent it."""

    id: str
    date_added: AbsorbDateTime | None = None
    date_edited: AbsorbDateTime | None = None
    _raw: dict[str, Any] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _keep_raw(cls, data: Any, handler: ModelWrapValidatorHandler[Any]) -> Any:
        record = handler(data)
        if isinstance(data, dict):
            record._raw = dict(data)
        return record

    @property
    def raw(self) -> dict[str, Any]:
        """The object exactly as Absorb sent it (a copy)."""
        return dict(self._raw)


class AbsorbUser(AbsorbRecord):
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None
    email_address: str | None = None
    active_status: int | None = None  # 0 Active, 1 Inactive; kept as sent


class AbsorbCourse(AbsorbRecord):
    name: str | None = None
    description: str | None = None
    course_type: str | None = None
    active_status: int | None = None


class AbsorbEnrollment(AbsorbRecord):
    """A course enrollment (``CourseEnrollmentResource``)."""

    user_id: str
    course_id: str | None = None
    course_version_id: str | None = None
    status: int | None = None  # kept as sent: an unknown value must not fail the page
    progress: float | None = None
    score: float | None = None
    date_completed: AbsorbDateTime | None = None
    date_due: AbsorbDateTime | None = None
    time_spent_ticks: int | None = None
    is_active: bool | None = None


class AbsorbPage(AbsorbModel, Generic[ItemT]):
    """The paginated envelope; ``items`` is read from the resource's own key."""

    total_items: int
    returned_items: int | None = None
    limit: int | None = None
    offset: int | None = None
    items: Records[ItemT]


class AbsorbUsersPage(AbsorbPage[AbsorbUser]):
    items: Records[AbsorbUser] = Field(alias="users")


class AbsorbCoursesPage(AbsorbPage[AbsorbCourse]):
    items: Records[AbsorbCourse] = Field(alias="courses")


class AbsorbEnrollmentsPage(AbsorbPage[AbsorbEnrollment]):
    items: Records[AbsorbEnrollment] = Field(alias="enrollments")


class AbsorbErrorBody(AbsorbModel):
    """``GenericErrorResponse``."""

    code: int | None = None
    message: str | None = None
    term: str | None = None
    validations: list[str] | None = None


# Built once: constructing a TypeAdapter compiles a validator.
USERS_PAGE: TypeAdapter[AbsorbPage[AbsorbUser]] = TypeAdapter(AbsorbUsersPage)
COURSES_PAGE: TypeAdapter[AbsorbPage[AbsorbCourse]] = TypeAdapter(AbsorbCoursesPage)
ENROLLMENTS_PAGE: TypeAdapter[AbsorbPage[AbsorbEnrollment]] = TypeAdapter(AbsorbEnrollmentsPage)
ENROLLMENTS = TypeAdapter(Records[AbsorbEnrollment])  # the bulk call's plain array
ENROLLMENT = TypeAdapter(OneRecord[AbsorbEnrollment])  # unusable: None, reported
TOKEN = TypeAdapter(Annotated[str, Field(min_length=1)])  # POST /authenticate answers a string
