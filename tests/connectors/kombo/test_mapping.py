"""Kombo payloads → unified model, on recorded pages (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel

from connectors.kombo import payloads
from connectors.kombo.mapping import (
    current_revision,
    map_course,
    map_progression,
    map_skill,
    map_user,
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
from tests.connectors.fixtures import load_fixture, select, with_field, without_field

SEED_COURSE_ID = "26vafvWSRmbhNcxJYqjCzuJg"
SEED_REVISION_ID = "3KMdr68N8kG9EzLwjsN9aoz"
SEED_PROGRESSION_ID = "26vafvWSRmbhNcxJYqjCzuJg"
PRIVACY_COURSE_ID = "5Fq2mWn8RkTz3LpXc7VbHd9Y"
FORKLIFT_COURSE_ID = "8TrE4wQa1SdF6gHj2KlZ5xCv"
SEED_TIME = datetime(2022, 8, 7, 14, 1, 29, 196000, tzinfo=UTC)


def courses(page: dict[str, Any] | None = None) -> list[Course]:
    parsed = payloads.COURSES_PAGE.validate_python(page or load_fixture("kombo", "courses"))
    return [map_course(item) for item in parsed.data.results]


def progressions(page: dict[str, Any] | None = None) -> list[Progression]:
    raw = page or load_fixture("kombo", "course-progressions")
    parsed = payloads.PROGRESSIONS_PAGE.validate_python(raw)
    return [map_progression(item) for item in parsed.data.results]


def users(page: dict[str, Any] | None = None) -> list[User]:
    parsed = payloads.USERS_PAGE.validate_python(page or load_fixture("kombo", "users"))
    return [map_user(item) for item in parsed.data.results]


def skills(page: dict[str, Any] | None = None) -> list[Skill]:
    parsed = payloads.SKILLS_PAGE.validate_python(page or load_fixture("kombo", "skills"))
    return [map_skill(item) for item in parsed.data.results]


def course(course_id: str) -> Course:
    (mapped,) = courses(select(load_fixture("kombo", "courses"), course_id))
    return mapped


def progression(progression_id: str) -> Progression:
    (mapped,) = progressions(select(load_fixture("kombo", "course-progressions"), progression_id))
    return mapped


# -- the seed examples, field by field -------------------------------------------------------


def test_seed_course_maps_every_field() -> None:
    lms_skill = Skill(
        id="4EeSSSd9Fr8iiW9mPKmjEVWK",
        name="LMS Integration",
        remote_data={"remote_id": "skill-123"},
    )
    revision = Revision(
        id=SEED_REVISION_ID,
        course_id=SEED_COURSE_ID,
        title="Building LMS integrations with Kombo",
        description=(
            "Learn how to build and integrate Learning Management System (LMS) integrations "
            "with Kombo. This course covers the unified LMS API, course management, user "
            "enrollment, progress tracking, and best practices for building robust LMS "
            "connectors."
        ),
        status=RevisionStatus.ACTIVE,
        url="https://learning.acme.com/courses/building-integrations/v1",
        skills=(lms_skill,),
        created_at=SEED_TIME,
        updated_at=SEED_TIME,
        deleted_at=None,
        remote_data={"remote_id": "revision-12345"},
    )
    expected = Course(
        id=SEED_COURSE_ID,
        title=revision.title,
        description=revision.description,
        url=revision.url,
        skills=(lms_skill,),
        provider=Provider(
            id="7xPdr68N8kG9EzLwjsN9xyz",
            name="Kombo Academy",
            remote_data={"remote_id": "provider-12345"},
        ),
        revisions=(revision,),
        created_at=SEED_TIME,
        updated_at=SEED_TIME,
        deleted_at=None,
        remote_data={"remote_id": "32", "origin_id": "course-123"},
    )
    assert course(SEED_COURSE_ID) == expected


def test_seed_progression_maps_every_field() -> None:
    expected = Progression(
        id=SEED_PROGRESSION_ID,
        user_id="7xPdr68N8kG9EzLwjsN9xyz",
        revision_id=SEED_REVISION_ID,
        course_id=SEED_COURSE_ID,
        status=ProgressionStatus.COMPLETED,
        source_status="COMPLETED",
        enrolled_at=SEED_TIME,
        completed_at=SEED_TIME,
        created_at=None,
        updated_at=SEED_TIME,
        deleted_at=None,
        remote_data={"remote_id": "progress-12345"},
    )
    assert progression(SEED_PROGRESSION_ID) == expected


def test_seed_pages_parse_with_their_cursor() -> None:
    cursor = (
        "eyJwYWdlIjoxMiwibm90ZSI6InRoaXMgaXMganVzdCBhbiBleGFtcGxlIGFuZCBub3QgcmVwcmVzZW50"
        "YXRpdmUgZm9yIGEgcmVhbCBjdXJzb3IhIn0="
    )
    course_page = payloads.COURSES_PAGE.validate_python(load_fixture("kombo", "courses"))
    progression_page = payloads.PROGRESSIONS_PAGE.validate_python(
        load_fixture("kombo", "course-progressions")
    )
    assert course_page.data.next == cursor
    assert progression_page.data.next == cursor
    assert [c.id for c in course_page.data.results] == [
        SEED_COURSE_ID,
        PRIVACY_COURSE_ID,
        FORKLIFT_COURSE_ID,
    ]
    assert len(progression_page.data.results) == 4


# -- courses and revisions ---------------------------------------------------------------------


def test_course_describes_itself_by_the_last_active_revision_not_the_last_one() -> None:
    privacy = course(PRIVACY_COURSE_ID)
    assert [(r.id, r.status) for r in privacy.revisions] == [
        ("9HcL2pQw4XeR7tYu1IoP3aSd", RevisionStatus.ACTIVE),
        ("2BnM8vCx5ZaS6dFg4HjK1lQw", RevisionStatus.INACTIVE),
    ]
    assert privacy.title == "Data Privacy Basics"
    assert privacy.description == "GDPR essentials for every employee."
    assert privacy.url == "https://learning.acme.com/courses/data-privacy/v1"
    assert [(s.id, s.name) for s in privacy.skills] == [
        ("4EeSSSd9Fr8iiW9mPKmjEVWK", "LMS Integration"),
        ("6RtY8uIo1PaS3dFg5HjK7lZx", "Data Protection"),
    ]


def test_skills_of_each_revision_come_from_its_skill_assignments() -> None:
    draft = course(PRIVACY_COURSE_ID).revision("2BnM8vCx5ZaS6dFg4HjK1lQw")
    assert draft is not None
    assert draft.skills == (
        Skill(
            id="7AsD9fGh2JkL4zXc6VbN8mQp", name="Compliance", remote_data={"remote_id": "skill-900"}
        ),
    )


def test_skill_reference_without_remote_id_has_no_remote_data() -> None:
    (_, protection) = course(PRIVACY_COURSE_ID).skills
    assert protection == Skill(id="6RtY8uIo1PaS3dFg5HjK7lZx", name="Data Protection")


def test_deleted_active_revision_is_ignored_for_the_current_one() -> None:
    forklift = course(FORKLIFT_COURSE_ID)
    retired, live = forklift.revisions
    assert retired.status is RevisionStatus.ACTIVE
    assert retired.deleted_at == datetime(2024, 5, 19, 23, 59, 59, 999000, tzinfo=UTC)
    assert forklift.title == "Forklift Safety" == live.title
    assert forklift.description is None
    assert forklift.url is None
    assert forklift.skills == ()


def test_course_without_provider() -> None:
    forklift = course(FORKLIFT_COURSE_ID)
    assert forklift.provider is None
    assert forklift.created_at is None
    assert forklift.remote_data == {"remote_id": "course-9001"}


def test_revision_course_id_falls_back_to_the_parent_course() -> None:
    forklift = course(FORKLIFT_COURSE_ID)
    assert [r.course_id for r in forklift.revisions] == [FORKLIFT_COURSE_ID, FORKLIFT_COURSE_ID]
    privacy = course(PRIVACY_COURSE_ID)
    page = with_field(
        select(load_fixture("kombo", "courses"), PRIVACY_COURSE_ID),
        "data.results.*.revisions.*.course_id",
        "someOtherCourseId0000000",
    )
    (edited,) = courses(page)
    # A course_id Kombo sends wins over the parent's.
    assert {r.course_id for r in privacy.revisions} == {PRIVACY_COURSE_ID}
    assert {r.course_id for r in edited.revisions} == {"someOtherCourseId0000000"}


def test_course_without_revisions_has_no_description() -> None:
    page = with_field(
        select(load_fixture("kombo", "courses"), SEED_COURSE_ID), "data.results.*.revisions", []
    )
    (bare,) = courses(page)
    assert bare.revisions == ()
    assert (bare.title, bare.description, bare.url, bare.skills) == (None, None, None, ())
    assert bare.provider is not None


def test_provider_without_remote_id_has_no_remote_data() -> None:
    page = with_field(
        select(load_fixture("kombo", "courses"), PRIVACY_COURSE_ID),
        "data.results.*.provider.remote_id",
        None,
    )
    (privacy,) = courses(page)
    assert privacy.provider is not None
    assert privacy.provider.name is not None
    assert privacy.provider.remote_data is None


def test_remote_data_keeps_kombo_remote_id_custom_fields_and_raw_data() -> None:
    privacy = course(PRIVACY_COURSE_ID)
    assert privacy.remote_data == {
        "remote_id": "77",
        "custom_fields": {"cost_center": "L&D-4"},
        "remote_data": {"/courses/77": {"id": 77, "name": "Data Privacy Basics", "versions": 2}},
    }
    assert privacy.provider is not None
    assert privacy.provider.remote_data == {"remote_id": "provider-linkedin"}
    first = privacy.revisions[0]
    assert first.remote_data == {"remote_id": "77-v1", "custom_fields": {"duration_minutes": 45}}


def _revision(rid: str, status: RevisionStatus | None, *, deleted: bool = False) -> Revision:
    return Revision(
        id=rid,
        course_id="c",
        title=rid,
        status=status,
        deleted_at=datetime(2024, 1, 1, tzinfo=UTC) if deleted else None,
    )


ACTIVE, INACTIVE = RevisionStatus.ACTIVE, RevisionStatus.INACTIVE


@pytest.mark.parametrize(
    ("revisions", "expected"),
    [
        pytest.param((), None, id="no revisions"),
        pytest.param((_revision("a", ACTIVE),), "a", id="single"),
        pytest.param((_revision("a", ACTIVE), _revision("b", ACTIVE)), "b", id="last active"),
        pytest.param(
            (_revision("a", ACTIVE), _revision("b", INACTIVE)), "a", id="active beats later"
        ),
        pytest.param(
            (_revision("a", INACTIVE), _revision("b", INACTIVE)), "b", id="no active: last live"
        ),
        pytest.param((_revision("a", None), _revision("b", None)), "b", id="null statuses"),
        pytest.param(
            (_revision("a", ACTIVE, deleted=True), _revision("b", INACTIVE)),
            "b",
            id="deleted active ignored",
        ),
        pytest.param(
            (_revision("a", ACTIVE), _revision("b", ACTIVE, deleted=True)),
            "a",
            id="deleted last active ignored",
        ),
        pytest.param(
            (_revision("a", INACTIVE), _revision("b", INACTIVE, deleted=True)),
            "a",
            id="deleted last ignored",
        ),
        # Deliberate in mapping.py (`... or list(revisions)`): with nothing live, a course
        # (typically itself deleted) still describes itself by its revisions.
        pytest.param(
            (_revision("a", ACTIVE, deleted=True), _revision("b", INACTIVE, deleted=True)),
            "a",
            id="all deleted: fallback to all",
        ),
    ],
)
def test_current_revision_rules(revisions: tuple[Revision, ...], expected: str | None) -> None:
    current = current_revision(revisions)
    assert (current.id if current else None) == expected


# -- progressions ------------------------------------------------------------------------------


def test_progression_course_comes_from_the_embedded_revision_course() -> None:
    mapped = {p.id: p for p in progressions()}
    assert mapped["4PlM7nKo2JiU9hYg6TfR3dEw"].course_id == PRIVACY_COURSE_ID
    assert mapped["5MkO8lNj3HuY0gTf7RdE4sWq"].course_id == FORKLIFT_COURSE_ID
    assert mapped["6NlP9mOk4IvZ1hUg8SeF5tXr"].course_id is None  # course: null
    assert mapped["5MkO8lNj3HuY0gTf7RdE4sWq"].revision_id == "1QaZ2wSx3EdC4rFv5TgB6yHn"
    assert mapped["5MkO8lNj3HuY0gTf7RdE4sWq"].user_id == "3VbN6mQw9ErT2yUi5OpA8sDf"


def test_progression_without_embedded_revision_has_no_course() -> None:
    page = with_field(
        select(load_fixture("kombo", "course-progressions"), SEED_PROGRESSION_ID),
        "data.results.*.course_revision",
        None,
    )
    (mapped,) = progressions(page)
    assert mapped.course_id is None
    assert mapped.revision_id == SEED_REVISION_ID


def test_progression_with_null_status() -> None:
    mapped = progression("4PlM7nKo2JiU9hYg6TfR3dEw")
    assert mapped.status is None
    assert mapped.source_status is None
    assert mapped.enrolled_at is None
    assert mapped.completed_at is None


@pytest.mark.parametrize(
    ("progression_id", "status"),
    [
        ("26vafvWSRmbhNcxJYqjCzuJg", ProgressionStatus.COMPLETED),
        ("5MkO8lNj3HuY0gTf7RdE4sWq", ProgressionStatus.IN_PROGRESS),
        ("6NlP9mOk4IvZ1hUg8SeF5tXr", ProgressionStatus.DROPPED),
    ],
)
def test_progression_status_and_source_status(
    progression_id: str, status: ProgressionStatus
) -> None:
    mapped = progression(progression_id)
    assert mapped.status is status
    assert mapped.source_status == status.value


def test_progression_keeps_raw_remote_data() -> None:
    assert progression("5MkO8lNj3HuY0gTf7RdE4sWq").remote_data == {
        "remote_id": "progress-20001",
        "remote_data": {"/enrollments/20001": {"progress": 40}},
    }


def test_unknown_status_maps_to_none_and_keeps_the_vendor_value() -> None:
    page = with_field(
        load_fixture("kombo", "course-progressions"), "data.results.*.status", "PAUSED"
    )
    parsed = payloads.PROGRESSIONS_PAGE.validate_python(page)
    mapped = [map_progression(item) for item in parsed.data.results]
    assert {(p.status, p.source_status) for p in mapped} == {(None, "PAUSED")}


# -- users and skills --------------------------------------------------------------------------


def test_users_map_every_field() -> None:
    sarah, jonas, ola = users()
    assert sarah == User(
        id="7xPdr68N8kG9EzLwjsN9xyz",
        first_name="Sarah",
        last_name="Johnson",
        email="sarah.johnson@example.com",
        status=UserStatus.ACTIVE,
        created_at=datetime(2021, 6, 1, 9, 0, tzinfo=UTC),
        updated_at=datetime(2024, 2, 14, 11, 22, 33, 444000, tzinfo=UTC),
        deleted_at=None,
        remote_data={"remote_id": "32", "custom_fields": {"department": "Engineering"}},
    )
    assert jonas.status is UserStatus.INACTIVE
    assert jonas.remote_data == {
        "remote_id": "51",
        "remote_data": {"/users/51": {"login": "jweber"}},
    }
    assert (ola.status, ola.email, ola.last_name) == (None, None, None)
    assert ola.deleted_at == datetime(2024, 6, 30, 18, 0, tzinfo=UTC)


def test_skills_map_every_field() -> None:
    lms, protection, nameless = skills()
    assert lms == Skill(
        id="4EeSSSd9Fr8iiW9mPKmjEVWK",
        name="LMS Integration",
        created_at=SEED_TIME,
        updated_at=SEED_TIME,
        remote_data={"remote_id": "skill-123"},
    )
    assert protection.remote_data == {"custom_fields": {"category": "Compliance"}}
    assert nameless.name is None
    assert nameless.deleted_at == datetime(2024, 7, 1, tzinfo=UTC)


# -- robustness ----------------------------------------------------------------------------


def _datetimes(model: BaseModel) -> list[datetime]:
    found: list[datetime] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        values = value if isinstance(value, tuple) else (value,)
        for item in values:
            if isinstance(item, datetime):
                found.append(item)
            elif isinstance(item, BaseModel):
                found.extend(_datetimes(item))
    return found


def test_every_mapped_date_is_timezone_aware_utc() -> None:
    records: list[BaseModel] = [*courses(), *progressions(), *users(), *skills()]
    stamps = [stamp for record in records for stamp in _datetimes(record)]
    assert len(stamps) > 30
    assert all(stamp.utcoffset() is not None for stamp in stamps)
    assert {stamp.utcoffset() for stamp in stamps} == {UTC.utcoffset(None)}


@pytest.mark.parametrize(
    ("name", "paths", "mapper"),
    [
        (
            "courses",
            [
                "data.results.*.ai_summary",
                "data.results.*.provider.logo_url",
                "data.results.*.revisions.*.language",
                "data.results.*.revisions.*.skill_assignments.*.level",
            ],
            courses,
        ),
        (
            "course-progressions",
            ["data.results.*.score", "data.results.*.course_revision.course.origin_id"],
            progressions,
        ),
        ("users", ["data.results.*.manager_id", "data.total"], users),
        ("skills", ["data.results.*.category"], skills),
    ],
)
def test_unknown_vendor_fields_are_ignored(name: str, paths: list[str], mapper: Any) -> None:
    recorded = load_fixture("kombo", name)
    extended = recorded
    for path in paths:
        extended = with_field(extended, path, {"new": "vendor field"})
    assert extended != recorded
    assert mapper(extended) == mapper(recorded)


def test_optional_fields_may_be_missing_entirely() -> None:
    page = load_fixture("kombo", "users")
    for field in ("remote_data", "custom_fields", "integration_fields", "remote_created_at"):
        page = without_field(page, f"data.results.*.{field}")
    sarah = users(page)[0]
    assert sarah.remote_data == {"remote_id": "32"}
    assert sarah.created_at is None
    assert sarah.email == "sarah.johnson@example.com"
