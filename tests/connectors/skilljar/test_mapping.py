"""Skilljar JSON → unified model, on recorded payloads shaped like Skilljar's v1 reference."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.model import (
    Progression,
    ProgressionResult,
    ProgressionStatus,
    RevisionStatus,
    UserStatus,
)
from connectors.skilljar import payloads
from connectors.skilljar.mapping import (
    map_course,
    map_progression,
    map_revision,
    map_user,
    progression_key,
    split_progression_key,
)
from tests.connectors.fixtures import load_fixture, with_field, without_field

ANN = "3t1q2gxpd8w5"
PRIVACY = "c9x8y7z6w5v4"


def results(name: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = load_fixture("skilljar", name)["results"]
    return items


def progress(index: int, **edits: Any) -> Progression:
    """Item ``index`` of the recorded progress list, edited at dotted paths, then mapped."""
    item = results("progress")[index]
    for path, value in edits.items():
        item = with_field(item, path.replace("__", "."), value)
    return map_progression(ANN, payloads.Progress.model_validate(item))


def published() -> list[payloads.PublishedCourse]:
    return [payloads.PublishedCourse.model_validate(i) for i in results("published-courses")]


# -- users ---------------------------------------------------------------------------------


def test_user_fields_and_status_follow_inactive_at() -> None:
    ann, bo = (map_user(payloads.UserItem.model_validate(i)) for i in results("users"))
    assert (ann.id, ann.first_name, ann.last_name, ann.email) == (
        ANN,
        "Ann",
        "Lee",
        "Ann.Lee@Acme.com",
    )
    assert ann.status is UserStatus.ACTIVE
    assert ann.created_at == datetime(2015, 6, 3, 1, 2, 3, 12345, tzinfo=UTC)
    assert ann.updated_at == datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    assert bo.status is UserStatus.INACTIVE
    assert ann.remote_data is not None
    assert ann.remote_data["registration_count"] == 2  # kept verbatim, undeclared too


def test_user_with_only_an_id_maps_to_nulls_and_counts_as_active() -> None:
    item = {"user": {"id": ANN}}
    user = map_user(payloads.UserItem.model_validate(item))
    assert (user.email, user.first_name, user.created_at, user.updated_at) == (None,) * 4
    assert user.status is UserStatus.ACTIVE  # no inactive_at: Skilljar's "null = active"


# -- courses and revisions -----------------------------------------------------------------


def test_course_revisions_are_its_published_courses_on_the_domain() -> None:
    course = payloads.Course.model_validate(results("courses")[0])
    mapped = map_course(course, published())
    assert [(r.id, r.status) for r in mapped.revisions] == [
        ("p1a2b3c4d5e6", RevisionStatus.ACTIVE),
        ("p0old0000001", RevisionStatus.INACTIVE),
    ]  # the Forklift course's published course is not one of them
    assert all(r.course_id == PRIVACY for r in mapped.revisions)
    assert mapped.revisions[0].title == "Data Privacy Basics"
    assert mapped.url == "https://academy.acme.com/data-privacy-basics"  # the visible one
    assert (mapped.title, mapped.description) == (
        "Data Privacy Basics",
        "What personal data is and how to keep it safe.",
    )
    assert mapped.created_at == datetime(2024, 1, 10, 10, tzinfo=UTC)
    assert mapped.updated_at == datetime(2026, 2, 1, 10, tzinfo=UTC)
    assert mapped.remote_data is not None
    assert mapped.remote_data["labels"] == ["compliance"]


def test_course_url_when_every_published_course_is_hidden_or_none_exists() -> None:
    course = payloads.Course.model_validate(results("courses")[0])
    hidden = [
        payloads.PublishedCourse.model_validate(with_field(i, "hidden", True))
        for i in results("published-courses")
    ]
    assert map_course(course, hidden).url == "https://academy.acme.com/data-privacy-basics-2024"
    bare = map_course(course, [])
    assert (bare.revisions, bare.url) == ((), None)


def test_seed_course_and_published_course_examples_map() -> None:
    (course,) = load_fixture("skilljar", "courses-seed")["results"]
    mapped = map_course(payloads.Course.model_validate(course), [])
    assert (mapped.id, mapped.title, mapped.description) == (
        "376culderht1r",
        "Cat Stuff",
        "I am not a bird.",
    )
    assert (mapped.created_at, mapped.updated_at) == (None, None)

    (item,) = load_fixture("skilljar", "published-courses-seed")["results"]
    revision = map_revision(payloads.PublishedCourse.model_validate(item))
    assert (revision.id, revision.course_id, revision.title) == (
        "abcdefg123456",
        "cdefghi345678",
        "Example Title",
    )
    assert revision.url == "http://learn.example.com/example-course"
    assert revision.status is RevisionStatus.ACTIVE
    assert revision.remote_data is not None
    assert revision.remote_data["offer"]["price"]["amount"] == "100.00"


def test_published_course_without_optional_fields() -> None:
    item = without_field(without_field(results("published-courses")[0], "hidden"), "course_url")
    revision = map_revision(payloads.PublishedCourse.model_validate(item))
    assert revision.url is None
    assert revision.status is RevisionStatus.ACTIVE  # not said to be hidden


# -- progressions --------------------------------------------------------------------------


def test_completed_progress_maps_ids_dates_score_percent_and_result() -> None:
    row = progress(0)
    assert row.id == f"{ANN}:p1a2b3c4d5e6"
    assert (row.user_id, row.course_id, row.revision_id) == (ANN, PRIVACY, "p1a2b3c4d5e6")
    assert (row.status, row.source_status) == (ProgressionStatus.COMPLETED, "completed")
    assert row.result is ProgressionResult.PASS
    assert row.score == 84.0  # 42 of 50
    assert row.progress_percent == 100.0  # 8 of 8 required lessons
    assert row.enrolled_at == datetime(2026, 1, 5, 8, tzinfo=UTC)
    assert row.completed_at == row.updated_at == datetime(2015, 6, 3, 1, 2, 3, 12345, tzinfo=UTC)
    assert (row.due_at, row.time_spent_seconds) == (None, None)  # Skilljar has neither
    assert row.remote_data is not None
    assert row.remote_data["certificate"]["code"] == "ABC"  # the raw item, verbatim


@pytest.mark.parametrize(
    ("index", "status", "source_status"),
    [
        (0, ProgressionStatus.COMPLETED, "completed"),
        (1, ProgressionStatus.IN_PROGRESS, "in_progress"),
        (2, ProgressionStatus.DROPPED, "inactive"),
        (3, ProgressionStatus.ENROLLED, "enrolled"),
    ],
)
def test_every_status_of_the_recorded_list(
    index: int, status: ProgressionStatus, source_status: str
) -> None:
    row = progress(index)
    assert (row.status, row.source_status) == (status, source_status)
    assert (row.completed_at is not None) == (status is ProgressionStatus.COMPLETED)


def test_failed_completion_is_completed_with_fail() -> None:
    row = progress(0, course_progress__success_status="FAILED", course_progress__score=20)
    assert (row.status, row.result, row.score) == (
        ProgressionStatus.COMPLETED,
        ProgressionResult.FAIL,
        40.0,
    )


def test_completion_without_success_status_has_no_result() -> None:
    assert progress(0, course_progress__success_status=None).result is None


def test_dropped_is_decided_before_in_progress_but_not_before_completed() -> None:
    dropped = progress(2)  # three lessons done, the only enrolment inactive
    assert dropped.status is ProgressionStatus.DROPPED
    assert dropped.progress_percent == 25.0  # 2 of 8 required lessons
    completed = progress(2, course_progress__completed_at="2024-05-01T00:00:00Z")
    assert completed.status is ProgressionStatus.COMPLETED


@pytest.mark.parametrize(
    ("states", "status"),
    [
        ([{"active": False}, {"active": False}], ProgressionStatus.DROPPED),
        ([{"active": False}, {"active": True}], ProgressionStatus.IN_PROGRESS),
        ([{"active": None}], ProgressionStatus.IN_PROGRESS),  # unknown is not inactive
        ([], ProgressionStatus.IN_PROGRESS),
    ],
)
def test_dropped_needs_every_enrolment_inactive(
    states: list[dict[str, Any]], status: ProgressionStatus
) -> None:
    assert progress(2, all_enrollments=states).status is status


@pytest.mark.parametrize(("lessons", "status"), [(1, "IN_PROGRESS"), (0, "ENROLLED")])
def test_lesson_activity_decides_between_enrolled_and_in_progress(
    lessons: int, status: str
) -> None:
    assert progress(1, course_progress__completed_lesson_count=lessons).status == status


@pytest.mark.parametrize(
    ("edits", "score"),
    [
        ({"course_progress__score": None}, None),
        ({"course_progress__max_score": None}, None),
        ({"course_progress__max_score": 0}, None),
        ({"course_progress__score": 0}, 0.0),
    ],
)
def test_score_is_a_percentage_only_when_both_numbers_are_there(
    edits: dict[str, Any], score: float | None
) -> None:
    assert progress(0, **edits).score == score


@pytest.mark.parametrize(
    "edits",
    [
        {"course__required_lesson_count": 0},
        {"course__required_lesson_count": None},
        {"course_progress__completed_required_lesson_count": None},
    ],
)
def test_no_percent_without_a_required_lesson_count(edits: dict[str, Any]) -> None:
    assert progress(0, **edits).progress_percent is None


def test_progress_with_only_the_required_fields() -> None:
    item = {"published_course_id": "p1a2b3c4d5e6", "course": {"id": PRIVACY}}
    row = map_progression(ANN, payloads.Progress.model_validate(item))
    assert (row.status, row.source_status) == (ProgressionStatus.ENROLLED, "enrolled")
    assert (row.enrolled_at, row.completed_at, row.updated_at) == (None, None, None)
    assert (row.progress_percent, row.score, row.result) == (None, None, None)
    assert row.remote_data == item


# -- shapes and keys -----------------------------------------------------------------------


def test_lists_may_be_bare_arrays_or_pages() -> None:
    bare = payloads.PROGRESS_PAGE.validate_python(results("progress"))
    assert (bare.count, bare.next, len(bare.results)) == (None, None, 4)
    paged = payloads.PROGRESS_PAGE.validate_python(load_fixture("skilljar", "progress"))
    assert paged.count == 4


def test_seed_enrolment_example_parses() -> None:
    page = payloads.ENROLLMENTS_PAGE.validate_python(load_fixture("skilljar", "enrollments-seed"))
    (enrolment,) = page.results
    assert (enrolment.id, enrolment.user.id, enrolment.active) == (
        "abcdefg123456",
        "bcdefga123456",
        True,
    )


def test_progression_keys_round_trip() -> None:
    key = progression_key(ANN, "p1a2b3c4d5e6")
    assert split_progression_key(key) == (ANN, "p1a2b3c4d5e6")


@pytest.mark.parametrize(
    "key", ["nocolon", ":p1", "u1:", "u1:p/../x", "u1:p1:p2", "u1:p²", "u 1:p1", "ü1:p1"]
)
def test_foreign_progression_keys_are_refused(key: str) -> None:
    assert split_progression_key(key) is None
