"""Skilljar JSON → unified model, on recorded payloads shaped like Skilljar's v1 reference."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from connectors.model import ProgressionResult, ProgressionStatus, RevisionStatus, UserStatus
from connectors.skilljar import payloads
from connectors.skilljar.mapping import (
    map_course,
    map_progression,
    map_user,
    split_progression_key,
)
from tests.connectors.fixtures import load_fixture

USER_ID = "3t1q2gxpd8w5"


def progress_item(index: int) -> dict[str, Any]:
    item: dict[str, Any] = load_fixture("skilljar", "progress")["results"][index]
    return item


def test_user_status_follows_inactive_at() -> None:
    ann, bo = (
        map_user(payloads.UserItem.model_validate(item))
        for item in load_fixture("skilljar", "users")["results"]
    )
    assert (ann.id, ann.first_name, ann.email) == (USER_ID, "Ann", "Ann.Lee@Acme.com")
    assert ann.status is UserStatus.ACTIVE
    assert ann.created_at == datetime(2015, 6, 3, 1, 2, 3, 12345, tzinfo=UTC)
    assert bo.status is UserStatus.INACTIVE


def test_course_revisions_are_its_published_courses() -> None:
    course = payloads.Course.model_validate(load_fixture("skilljar", "courses")["results"][0])
    published = [
        payloads.PublishedCourse.model_validate(item)
        for item in load_fixture("skilljar", "published-courses")["results"]
    ]
    mapped = map_course(course, published)
    assert [(r.id, r.status) for r in mapped.revisions] == [
        ("p1a2b3c4d5e6", RevisionStatus.ACTIVE),
        ("p0old0000001", RevisionStatus.INACTIVE),
    ]
    assert mapped.url == "https://academy.acme.com/data-privacy-basics"  # the visible one
    assert mapped.revision("p0old0000001") is not None
    assert map_course(course, []).revisions == ()


def test_completed_progress_maps_score_percent_and_result() -> None:
    row = map_progression(USER_ID, payloads.Progress.model_validate(progress_item(0)))
    assert row.id == f"{USER_ID}:p1a2b3c4d5e6"
    assert (row.course_id, row.revision_id) == ("c9x8y7z6w5v4", "p1a2b3c4d5e6")
    assert row.status is ProgressionStatus.COMPLETED
    assert row.result is ProgressionResult.PASS
    assert row.score == 84.0  # 42 of 50
    assert row.progress_percent == 100.0  # 8 of 8 required lessons
    assert row.source_status == "completed"


def test_inactive_unfinished_enrolment_is_dropped_before_in_progress() -> None:
    row = map_progression(USER_ID, payloads.Progress.model_validate(progress_item(2)))
    assert row.status is ProgressionStatus.DROPPED
    assert row.progress_percent == 25.0


@pytest.mark.parametrize(
    ("lessons", "status"),
    [(1, ProgressionStatus.IN_PROGRESS), (0, ProgressionStatus.ENROLLED)],
)
def test_activity_decides_between_enrolled_and_in_progress(
    lessons: int, status: ProgressionStatus
) -> None:
    item = copy.deepcopy(progress_item(1))
    item["course_progress"]["completed_lesson_count"] = lessons
    assert map_progression(USER_ID, payloads.Progress.model_validate(item)).status is status


def test_failed_and_missing_fields_stay_null_not_invented() -> None:
    item = copy.deepcopy(progress_item(0))
    item["course_progress"].update(success_status="FAILED", score=None)
    item["course"]["required_lesson_count"] = 0
    row = map_progression(USER_ID, payloads.Progress.model_validate(item))
    assert row.result is ProgressionResult.FAIL
    assert row.score is None
    assert row.progress_percent is None
    item.pop("course_progress")
    assert map_progression(USER_ID, payloads.Progress.model_validate(item)).status is (
        ProgressionStatus.ENROLLED
    )


def test_progress_lists_may_be_bare_arrays() -> None:
    page = payloads.PROGRESS_PAGE.validate_python([progress_item(0)])
    assert page.next is None
    assert len(page.results) == 1


@pytest.mark.parametrize("key", ["nocolon", ":p1", "u1:", "u1:p/../x", "u1:p1:p2"])
def test_foreign_progression_keys_are_refused(key: str) -> None:
    assert split_progression_key(key) is None
