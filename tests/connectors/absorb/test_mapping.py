"""Absorb payloads → unified model, on recorded pages (no HTTP); paging and filter helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from connectors.absorb import payloads
from connectors.absorb.filters import (
    absorb_datetime,
    edited_after,
    email_filter,
    guids,
    id_filter,
    string_literal,
)
from connectors.absorb.mapping import is_current, map_course, map_progression, map_user
from connectors.absorb.paging import PageIndex
from connectors.model import ProgressionResult, ProgressionStatus, UserStatus
from connectors.records import SkipTally
from tests.connectors.fixtures import load_fixture

ANN = "3d9f2c1a-7b6e-4d5c-8a9b-0e1f2a3b4c01"
SAFETY = "5f0e7a1b-3c2d-4e8f-9a6b-7c1d2e3f4a01"
SEED_TIME = datetime(2019, 8, 24, 14, 15, 22, tzinfo=UTC)


def enrollment_json(index: int) -> dict[str, Any]:
    item: dict[str, Any] = load_fixture("absorb", "enrollments")["enrollments"][index]
    return item


def enrollment(**changes: Any) -> payloads.AbsorbEnrollment:
    return payloads.ENROLLMENT.validate_python({**enrollment_json(1), **changes})


def test_seed_enrollment_maps_every_field() -> None:
    raw = enrollment_json(0)
    mapped = map_progression(payloads.ENROLLMENT.validate_python(raw))
    assert mapped.model_dump() == {
        "id": "string",
        "user_id": "string",
        "course_id": "string",
        "revision_id": "string",
        "status": ProgressionStatus.ENROLLED,
        "result": None,
        "source_status": "NotStarted",
        "enrolled_at": SEED_TIME,
        "completed_at": SEED_TIME,
        "due_at": SEED_TIME,
        "progress_percent": 0.0,
        "score": 0.0,
        "time_spent_seconds": 0,
        "created_at": SEED_TIME,
        "updated_at": SEED_TIME,
        "deleted_at": None,
        "remote_data": raw,
    }


def test_recorded_completion_maps_dates_ticks_and_result() -> None:
    mapped = map_progression(enrollment())
    assert mapped.status is ProgressionStatus.COMPLETED
    assert mapped.result is ProgressionResult.PASS
    assert mapped.time_spent_seconds == 4500  # 45_000_000_000 ticks of 100 ns
    assert mapped.updated_at == datetime(2024, 3, 5, 16, 20, 1, 250000, tzinfo=UTC)
    assert mapped.due_at == datetime(2024, 3, 31, tzinfo=UTC)
    assert mapped.score == 92.5
    assert mapped.course_id == SAFETY
    assert mapped.revision_id == "9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c01"
    # Fields without a unified home stay in remote_data, verbatim.
    assert mapped.remote_data is not None
    assert mapped.remote_data["certificateId"] == "7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c01"


@pytest.mark.parametrize(
    ("value", "status", "result", "name"),
    [
        (0, ProgressionStatus.ENROLLED, None, "NotStarted"),
        (1, ProgressionStatus.IN_PROGRESS, None, "InProgress"),
        (2, ProgressionStatus.ENROLLED, None, "PendingApproval"),
        (3, ProgressionStatus.COMPLETED, ProgressionResult.PASS, "Complete"),
        (4, ProgressionStatus.DROPPED, None, "NotComplete"),
        (5, ProgressionStatus.COMPLETED, ProgressionResult.FAIL, "Failed"),
        (6, ProgressionStatus.DROPPED, None, "Declined"),
        (7, ProgressionStatus.IN_PROGRESS, None, "PendingEvaluationRequired"),
        (8, ProgressionStatus.ENROLLED, None, "OnWaitlist"),
        (9, ProgressionStatus.DROPPED, None, "Absent"),
        (10, None, None, "NotApplicable"),
        (11, ProgressionStatus.IN_PROGRESS, None, "PendingProctor"),
        (12, ProgressionStatus.IN_PROGRESS, None, "ReadyForReview"),
        (13, None, None, "13"),
        (-1, None, None, "-1"),
        (None, None, None, None),
    ],
)
def test_every_status_value(
    value: int | None,
    status: ProgressionStatus | None,
    result: ProgressionResult | None,
    name: str | None,
) -> None:
    mapped = map_progression(enrollment(status=value))
    assert (mapped.status, mapped.result, mapped.source_status) == (status, result, name)


def test_enrollment_with_only_required_fields() -> None:
    mapped = map_progression(payloads.ENROLLMENT.validate_python({"id": "e1", "userId": ANN}))
    assert mapped.model_dump(exclude={"id", "user_id", "remote_data"}) == {
        "course_id": None,
        "revision_id": None,
        "status": None,
        "result": None,
        "source_status": None,
        "enrolled_at": None,
        "completed_at": None,
        "due_at": None,
        "progress_percent": None,
        "score": None,
        "time_spent_seconds": None,
        "created_at": None,
        "updated_at": None,
        "deleted_at": None,
    }
    assert mapped.remote_data == {"id": "e1", "userId": ANN}


@pytest.mark.parametrize("missing", ["id", "userId"])
def test_enrollment_without_ids_does_not_validate(missing: str) -> None:
    raw = {k: v for k, v in enrollment_json(1).items() if k != missing}
    with pytest.raises(ValueError, match=missing):
        payloads.AbsorbEnrollment.model_validate(raw)
    tally = SkipTally()
    assert payloads.ENROLLMENT.validate_python(raw, context=tally) is None  # a look-up: absent
    assert tally.skipped == 1


def test_ticks_round_down_to_whole_seconds() -> None:
    assert map_progression(enrollment(timeSpentTicks=19_999_999)).time_spent_seconds == 1


def test_naive_and_offset_dates_become_utc() -> None:
    mapped = map_progression(
        enrollment(dateAdded="2024-02-01T09:00:00", dateEdited="2024-02-01T11:00:00+02:00")
    )
    assert mapped.enrolled_at == datetime(2024, 2, 1, 9, tzinfo=UTC)
    assert mapped.updated_at == datetime(2024, 2, 1, 9, tzinfo=UTC)


@pytest.mark.parametrize(("is_active", "current"), [(True, True), (None, True), (False, False)])
def test_only_explicitly_inactive_enrollments_are_historical(
    is_active: bool | None, current: bool
) -> None:
    assert is_current(enrollment(isActive=is_active)) is current


def users() -> list[payloads.AbsorbUser]:
    return list(payloads.USERS_PAGE.validate_python(load_fixture("absorb", "users")).items)


def test_recorded_users_map_names_email_and_status() -> None:
    ann, jonas, bare = (map_user(u) for u in users())
    assert (ann.first_name, ann.last_name, ann.email) == ("Ann", "Lee", "Ann.Lee@Acme.example")
    assert ann.status is UserStatus.ACTIVE
    assert ann.created_at == datetime(2023, 9, 1, 8, tzinfo=UTC)
    assert ann.updated_at == datetime(2024, 4, 10, 8, 30, 0, 125000, tzinfo=UTC)
    assert ann.remote_data is not None
    assert ann.remote_data["customFields"] == {"string1": "Berlin"}
    assert jonas.status is UserStatus.INACTIVE
    assert bare.model_dump(exclude={"id", "remote_data"}) == {
        "first_name": None,
        "last_name": None,
        "email": None,
        "status": None,
        "created_at": None,
        "updated_at": None,
        "deleted_at": None,
    }


def test_unknown_active_status_maps_to_no_status() -> None:
    raw = {"id": ANN, "activeStatus": 7}
    (parsed,) = payloads.USERS_PAGE.validate_python({"totalItems": 1, "users": [raw]}).items
    assert map_user(parsed).status is None


def test_course_has_no_listed_versions_and_any_version_reads_as_it() -> None:
    page = payloads.COURSES_PAGE.validate_python(load_fixture("absorb", "courses"))
    safety, privacy = (map_course(c) for c in page.items)
    assert (safety.title, safety.description) == (
        "Workplace Safety Basics",
        "Hazards, reporting and first aid.",
    )
    assert (safety.created_at, safety.updated_at) == (
        datetime(2021, 5, 1, tzinfo=UTC),
        datetime(2024, 1, 20, 10, tzinfo=UTC),
    )
    assert safety.revisions == ()
    assert safety.revisions_listed is False
    revision = safety.revision("9b8a7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c01")
    assert revision is not None
    assert (revision.course_id, revision.title, revision.status) == (
        SAFETY,
        "Workplace Safety Basics",
        None,
    )
    assert safety.remote_data is not None
    assert safety.remote_data["activeStatus"] == 0
    assert (privacy.description, privacy.created_at, privacy.updated_at) == (None, None, None)


@pytest.mark.parametrize("key", ["users", "totalItems"])
def test_page_without_its_items_or_total_does_not_validate(key: str) -> None:
    page = load_fixture("absorb", "users")
    del page[key]
    with pytest.raises(ValueError, match=key):
        payloads.USERS_PAGE.validate_python(page)


def test_a_courses_page_is_no_users_page() -> None:
    with pytest.raises(ValueError, match="users"):
        payloads.USERS_PAGE.validate_python(load_fixture("absorb", "courses"))


# -- page index tokens and _filter literals ---------------------------------------------------


def page(total: int, items: int, limit: int | None) -> payloads.AbsorbPage[Any]:
    body = {"totalItems": total, "limit": limit, "users": [{"id": str(i)} for i in range(items)]}
    return payloads.USERS_PAGE.validate_python(body)


@pytest.mark.parametrize(
    ("position", "read", "following"),
    [
        (PageIndex(0, 10), page(25, 10, 10), PageIndex(1, 10)),
        (PageIndex(1, 10), page(25, 10, 10), PageIndex(2, 10)),
        (PageIndex(2, 10), page(25, 5, 10), None),
        (PageIndex(0, 10), page(10, 10, 10), None),  # exactly full: no empty extra page
        (PageIndex(3, 10), page(25, 0, 10), None),  # past the end
        (PageIndex(0, 1000), page(2500, 500, 500), PageIndex(1, 500)),  # vendor's smaller cap
        (PageIndex(0, 10), page(25, 10, None), PageIndex(1, 10)),  # no echo: ours
    ],
)
def test_page_index_after(
    position: PageIndex, read: payloads.AbsorbPage[Any], following: PageIndex | None
) -> None:
    assert position.after(read) == following


@pytest.mark.parametrize(
    ("token", "parsed"),
    [
        ("0:20", PageIndex(0, 20)),
        ("65535:1000", PageIndex(65535, 1000)),
        ("1:0", None),
        ("1:1001", None),
        ("1", None),
        ("a:b", None),
        ("-1:5", None),
        ("1:5 ", None),
    ],
)
def test_page_index_tokens(token: str, parsed: PageIndex | None) -> None:
    assert PageIndex.parse(token, 1000) == parsed
    if parsed is not None:
        assert parsed.token() == token
        assert parsed.params() == {"_offset": str(parsed.offset), "_limit": str(parsed.limit)}


@pytest.mark.parametrize(("size", "limit"), [(0, 1), (-3, 1), (50, 50), (5000, 1000)])
def test_first_page_size_is_clamped(size: int, limit: int) -> None:
    assert PageIndex.first(size, 1000) == PageIndex(0, limit)


def test_only_guids_enter_filters_and_paths() -> None:
    given = [ANN, "not-a-guid", ANN.upper(), ANN, f"{ANN}' or 1 eq 1", "../users"]
    assert guids(given) == [ANN, ANN.upper()]
    assert id_filter([ANN, SAFETY]) == f"id eq guid'{ANN}' or id eq guid'{SAFETY}'"


def test_emails_are_lower_cased_and_quotes_doubled() -> None:
    assert string_literal("o'neil") == "'o''neil'"
    assert email_filter(["O'Neil@X.io", "a@b.c"]) == (
        "tolower(emailAddress) eq 'o''neil@x.io' or tolower(emailAddress) eq 'a@b.c'"
    )


def test_datetimes_are_utc_with_milliseconds() -> None:
    naive = datetime(2024, 1, 2, 3, 4, 5, 678901)  # noqa: DTZ001 - naive on purpose: UTC
    assert absorb_datetime(naive) == "2024-01-02T03:04:05.678Z"
    shifted = datetime(2024, 1, 2, 1, 4, 5, tzinfo=timezone(timedelta(hours=2)))
    assert edited_after(shifted) == "dateEdited gt datetime'2024-01-01T23:04:05.000Z'"
