"""StackOne payloads → unified model, on recorded payloads (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter

from connectors.model import (
    Course,
    ProgressionResult,
    ProgressionStatus,
    Provider,
    Revision,
    RevisionStatus,
    Skill,
    User,
    UserStatus,
)
from connectors.records import SkipTally
from connectors.stackone import payloads
from connectors.stackone.mapping import (
    LearningPair,
    course_of,
    map_course,
    map_progression,
    map_skill,
    map_user,
    pair_records,
    parse_duration,
    progression_key,
    split_progression_key,
)
from connectors.stackone.payloads import StackOneAssignment, StackOneCompletion
from tests.connectors.fixtures import load_fixture

JOHN = "c28xyrc55866bvuv"
SOFTWARE = "26vafvWSRmbhNcxJYqjCzuJg"
PRIVACY = "5Fq2mWn8RkTz3LpXc7VbHd9Y"
FORKLIFT = "8TrE4wQa1SdF6gHj2KlZ5xCv"
VIDEO = "16873-SOFTWARE-ENG-COURSE"
SEED_TIME = datetime(2021, 7, 21, 14, 0, tzinfo=UTC)
SALES_REMOTE_ID = "8187e5da-dc77-475e-9949-af0f1fa4e4e3"


def users() -> list[User]:
    page = payloads.USERS_PAGE.validate_python(load_fixture("stackone", "users"))
    return [map_user(item) for item in page.data]


def courses() -> list[Course]:
    page = payloads.COURSES_PAGE.validate_python(load_fixture("stackone", "courses"))
    return [map_course(item) for item in page.data]


def assignments() -> list[StackOneAssignment]:
    return payloads.ASSIGNMENTS_PAGE.validate_python(load_fixture("stackone", "assignments")).data


def completions() -> list[StackOneCompletion]:
    return payloads.COMPLETIONS_PAGE.validate_python(load_fixture("stackone", "completions")).data


def assignment(**fields: Any) -> StackOneAssignment:
    base = {"id": "a", "user_id": JOHN, "learning_object_id": SOFTWARE}
    return StackOneAssignment.model_validate({**base, **fields})


def completion(**fields: Any) -> StackOneCompletion:
    base = {"id": "c", "user_id": JOHN, "learning_object_id": SOFTWARE}
    return StackOneCompletion.model_validate({**base, **fields})


# -- users ------------------------------------------------------------------------------------


def test_documented_user_maps_every_field() -> None:
    assert users()[0] == User(
        id=JOHN,
        first_name="John",
        last_name="Doe",
        email="john.doe@example.com",
        status=UserStatus.ACTIVE,
        created_at=SEED_TIME,
        updated_at=SEED_TIME,
        remote_data={
            "remote_id": "e3cb75bf-aa84-466e-a6c1-b8322b257a48",
            "external_reference": "SOFTWARE-ENG-LV1-TRAINING-VIDEO-1",
            "phone_number": "+1-555-0100",
            "unified_custom_fields": {"my_project_custom_field_1": "REF-1236"},
        },
    )


def test_name_is_split_at_the_first_space_and_email_kept_as_sent() -> None:
    ana, cher = users()[1:3]
    assert (ana.first_name, ana.last_name, ana.email) == (
        "Ana",
        "María de la Cruz",
        "Ana.Cruz@Example.com",
    )
    assert (cher.first_name, cher.last_name) == ("Cher", None)


def test_user_without_optional_fields_maps_to_nones() -> None:
    bare = users()[3]
    assert bare == User(id="9PqR5sT1uV3wX7yZ2aB4cD6")


@pytest.mark.parametrize(
    ("active", "status"),
    [
        (True, UserStatus.ACTIVE),
        (False, UserStatus.INACTIVE),
        ("true", UserStatus.ACTIVE),
        ("false", UserStatus.INACTIVE),
        (" TRUE ", UserStatus.ACTIVE),
        ("yes", None),
        (1, None),
        (None, None),
    ],
)
def test_active_as_bool_or_string(active: Any, status: UserStatus | None) -> None:
    parsed = payloads.StackOneUser.model_validate({"id": "u", "active": active})
    assert map_user(parsed).status is status


# -- courses and skills ------------------------------------------------------------------------


def test_documented_course_has_one_synthesized_revision() -> None:
    sales = Skill(
        id="12345",
        name="Sales Techniques",
        remote_data={"remote_id": "8187e5da-dc77-475e-9949-af0f1fa4e4e3", "active": True},
    )
    negotiation = Skill(id="67890", name="Negotiation", remote_data={"active": False})
    description = "This course acts as learning resource for software engineers."
    url = "https://www.linkedinlearning.com/?v=16873"
    assert courses()[0] == Course(
        id=SOFTWARE,
        title="Software Engineer Lv 1",
        description=description,
        url=url,
        provider=Provider(id="Content Provider", name="Content Provider"),
        skills=(sales, negotiation),
        revisions=(
            Revision(
                id=SOFTWARE,
                course_id=SOFTWARE,
                title="Software Engineer Lv 1",
                description=description,
                url=url,
                status=RevisionStatus.ACTIVE,
                skills=(sales, negotiation),
                created_at=SEED_TIME,
                updated_at=SEED_TIME,
            ),
        ),
        created_at=SEED_TIME,
        updated_at=SEED_TIME,
        remote_data={
            "remote_id": "e3cb75bf-aa84-466e-a6c1-b8322b257a48",
            "external_reference": "SOFTWARE-ENG-LV1-TRAINING-VIDEO-1",
            "content_ids": [VIDEO, "16874-SOFTWARE-ENG-COURSE"],
            "unified_custom_fields": {"my_project_custom_field_1": "REF-1236"},
        },
    )


def test_inactive_course_as_string_makes_an_inactive_revision() -> None:
    privacy = courses()[1]
    assert privacy.revisions[0].status is RevisionStatus.INACTIVE
    assert privacy.provider is None
    assert privacy.skills == ()
    assert privacy.revision(PRIVACY) == privacy.revisions[0]


def test_bare_course_still_has_its_revision() -> None:
    bare = courses()[2]
    assert bare.revisions == (Revision(id=FORKLIFT, course_id=FORKLIFT),)
    assert (bare.title, bare.provider, bare.remote_data) == (None, None, None)


def test_skills_map_with_their_flags() -> None:
    page = payloads.SKILLS_PAGE.validate_python(load_fixture("stackone", "skills"))
    mapped = [map_skill(item) for item in page.data]
    assert [(s.id, s.name, s.remote_data) for s in mapped] == [
        ("12345", "Sales Techniques", {"remote_id": SALES_REMOTE_ID, "active": True}),
        ("67890", "Negotiation", {"active": False}),
        ("24680", None, None),
    ]


# -- durations and keys -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT1H30M45S", 5445),
        ("PT0S", 0),
        ("PT15M", 900),
        ("P1DT2H", 93600),
        ("P2D", 172800),
        ("PT1.9S", 1),
        ("PT1M30,5S", 90),  # ISO 8601 allows a decimal comma
        ("PT36H", 129600),
        ("pt1h", 3600),
        ("PT", None),
        ("P", None),
        ("P1DT", None),
        ("PT1H30", None),
        ("P3Y6M4DT12H30M5S", None),
        ("P1W", None),
        ("-PT1S", None),
        ("1 hour", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_duration_is_strict(text: str | None, seconds: int | None) -> None:
    assert parse_duration(text) == seconds


def test_progression_key_round_trips() -> None:
    key = progression_key(JOHN, SOFTWARE)
    assert key == f"{JOHN}:{SOFTWARE}"
    assert split_progression_key(key) == (JOHN, SOFTWARE)


def test_progression_key_splits_at_the_first_separator() -> None:
    # The user ID comes first and has no separator; the learning object ID is kept whole.
    key = progression_key(JOHN, "course:v2")
    assert split_progression_key(key) == (JOHN, "course:v2")


@pytest.mark.parametrize("key", ["no-separator", ":course", "user:", ""])
def test_malformed_progression_keys_are_not_keys(key: str) -> None:
    assert split_progression_key(key) is None


# -- joining assignments and completions --------------------------------------------------------


def test_pairs_join_on_user_and_learning_object_in_first_seen_order() -> None:
    pairs = pair_records(assignments(), completions())
    assert [(p.learning_object_id, bool(p.assignment), bool(p.completion)) for p in pairs] == [
        (SOFTWARE, True, True),
        (PRIVACY, True, False),
        (FORKLIFT, True, True),
        ("16874-SOFTWARE-ENG-COURSE", True, False),
        ("collection-1", True, False),
        (VIDEO, False, True),
    ]
    assert {p.user_id for p in pairs} == {JOHN}


def test_pair_records_fill_the_owner() -> None:
    records = [assignment(user_id=None, id=None)]  # no ID of its own: still keyed
    (pair,) = pair_records(records, [], user_id="owner")
    assert (pair.user_id, pair.assignment) == ("owner", records[0])
    assert pair_records(records, []) == []  # no user anywhere: no key


def test_a_record_that_cannot_be_keyed_does_not_end_the_list() -> None:
    unkeyed = assignment(id="unkeyed", user_id=None)
    keyed = assignment(id="keyed", learning_object_id=PRIVACY)
    (pair,) = pair_records([unkeyed, keyed], [])
    assert (pair.learning_object_id, pair.assignment) == (PRIVACY, keyed)


def test_a_learning_record_without_a_learning_object_is_skipped_and_counted() -> None:
    page = {
        "data": [
            {"id": "x", "user_id": JOHN, "learning_object_id": None},
            {"id": "y", "user_id": JOHN, "learning_object_id": ""},
            {"user_id": JOHN, "learning_object_id": SOFTWARE},
        ]
    }
    tally = SkipTally()
    read = payloads.ASSIGNMENTS_PAGE.validate_python(page, context=tally).data
    assert [(r.id, r.learning_object_id) for r in read] == [(None, SOFTWARE)]
    assert tally.skipped == 2


def test_newest_record_of_a_kind_wins() -> None:
    old = assignment(id="old", updated_at="2024-01-01T00:00:00Z")
    new = assignment(id="new", updated_at="2024-02-01T00:00:00Z")
    early = completion(id="early", completed_at="2024-03-01T00:00:00Z")
    late = completion(id="late", completed_at="2024-04-01T00:00:00Z")
    (pair,) = pair_records([new, old], [early, late])
    assert (pair.assignment, pair.completion) == (new, late)


def test_completions_are_ordered_by_completion_not_by_edit() -> None:
    # The earlier completion was edited last; the later completion still wins.
    early = completion(
        id="early", completed_at="2024-03-01T00:00:00Z", updated_at="2024-05-01T00:00:00Z"
    )
    late = completion(
        id="late", completed_at="2024-04-01T00:00:00Z", updated_at="2024-04-01T00:00:00Z"
    )
    (pair,) = pair_records([], [late, early])
    assert pair.completion == late


def test_of_records_equally_new_the_later_listed_wins() -> None:
    first = assignment(id="first", updated_at="2024-01-01T00:00:00Z")
    second = assignment(id="second", updated_at="2024-01-01T00:00:00Z")
    first_done = completion(id="first-done", completed_at="2024-03-01T00:00:00Z")
    second_done = completion(id="second-done", completed_at="2024-03-01T00:00:00Z")
    (pair,) = pair_records([first, second], [first_done, second_done])
    assert (pair.assignment, pair.completion) == (second, second_done)


def pair_of(assignment_id: str | None, completion_id: str | None) -> LearningPair:
    pairs = pair_records(assignments(), completions())
    return next(
        p
        for p in pairs
        if (p.assignment.id if p.assignment else None) == assignment_id
        and (p.completion.id if p.completion else None) == completion_id
    )


def test_pending_assignment_is_enrolled() -> None:
    pair = pair_of("as-pending", "co-bare")  # the bare completion makes it COMPLETED
    only = LearningPair(pair.user_id, pair.learning_object_id, pair.assignment, None)
    progression = map_progression(only, SOFTWARE)
    assert progression.id == f"{JOHN}:{SOFTWARE}"
    assert (progression.status, progression.source_status) == (
        ProgressionStatus.ENROLLED,
        "pending",
    )
    assert progression.enrolled_at == SEED_TIME
    assert progression.due_at == datetime(2021, 8, 21, 14, 0, tzinfo=UTC)
    assert progression.progress_percent == 0
    assert (progression.completed_at, progression.score, progression.result) == (None, None, None)
    assert pair.assignment is not None
    assert progression.remote_data == {
        "assignment": pair.assignment.model_dump(mode="json", exclude_none=True),
        "completion": None,
    }


def test_any_completion_overrides_the_assignment_status() -> None:
    progression = map_progression(pair_of("as-pending", "co-bare"), SOFTWARE)
    assert (progression.status, progression.source_status) == (
        ProgressionStatus.COMPLETED,
        "pending",
    )
    assert progression.progress_percent == 100
    assert progression.result is None  # the bare completion names none


def test_in_progress_assignment_keeps_its_progress() -> None:
    progression = map_progression(pair_of("as-in-progress", None), PRIVACY)
    assert progression.status is ProgressionStatus.IN_PROGRESS
    assert progression.progress_percent == 40
    assert (progression.course_id, progression.revision_id) == (PRIVACY, PRIVACY)
    assert progression.updated_at == datetime(2024, 2, 11, 9, 30, tzinfo=UTC)


def test_completed_assignment_with_its_completion_joins_both() -> None:
    progression = map_progression(pair_of("as-completed", "co-course-fail"), FORKLIFT)
    assert progression.status is ProgressionStatus.COMPLETED
    assert progression.source_status == "completed"
    assert progression.progress_percent == 100  # the assignment said 90
    assert progression.completed_at == datetime(2024, 3, 2, 10, 0, tzinfo=UTC)  # completion's
    assert (progression.score, progression.result) == (42, ProgressionResult.FAIL)
    assert progression.time_spent_seconds == 5445
    assert progression.created_at == datetime(2024, 1, 1, tzinfo=UTC)  # the earlier
    assert progression.updated_at == datetime(2024, 3, 5, 10, 0, tzinfo=UTC)  # the later
    assert progression.remote_data is not None
    assert progression.remote_data["completion"]["score"] == {
        "percentage": 42.0,
        "raw_value": "42 / 100",
    }


def test_completed_assignment_alone_uses_its_own_result_and_date() -> None:
    pair = pair_of("as-completed", "co-course-fail")
    only = LearningPair(pair.user_id, pair.learning_object_id, pair.assignment, None)
    progression = map_progression(only, FORKLIFT)
    assert progression.status is ProgressionStatus.COMPLETED
    assert progression.result is ProgressionResult.FAIL
    assert progression.completed_at == datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def test_completion_without_a_date_takes_the_assignments() -> None:
    done = assignment(completed_at="2024-03-01T12:00:00Z")
    pair = LearningPair(JOHN, SOFTWARE, done, completion())
    progression = map_progression(pair, SOFTWARE)
    assert progression.status is ProgressionStatus.COMPLETED
    assert progression.completed_at == datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("assignment_id", "source_status"), [("as-unmapped", "unmapped_value"), ("as-no-status", None)]
)
def test_unknown_assignment_status_is_none_but_kept(
    assignment_id: str, source_status: str | None
) -> None:
    progression = map_progression(pair_of(assignment_id, None), None)
    assert progression.status is None
    assert progression.source_status == source_status
    assert progression.progress_percent is None


def test_completion_without_assignment_is_completed_with_source_completion() -> None:
    progression = map_progression(pair_of(None, "co-content-only"), SOFTWARE)
    assert progression.id == f"{JOHN}:{VIDEO}"
    assert (progression.status, progression.source_status) == (
        ProgressionStatus.COMPLETED,
        "completion",
    )
    assert (progression.course_id, progression.revision_id) == (SOFTWARE, SOFTWARE)
    assert progression.time_spent_seconds == 93600
    assert (progression.enrolled_at, progression.due_at) == (None, None)
    assert progression.result is ProgressionResult.PASS


def test_seed_completion_maps_every_field() -> None:
    seed = TypeAdapter(payloads.StackOneItem[StackOneCompletion]).validate_python(
        load_fixture("stackone", "completion-seed")
    )
    (pair,) = pair_records([], [seed.data])
    assert pair.learning_object_type == "content"
    progression = map_progression(pair, course_of(pair, {pair.learning_object_id: "16873-ENG"}))
    assert progression.model_dump(exclude={"remote_data"}) == {
        "id": "c28xyrc55866bvuv:e3gd34-23tr21-er234-345er56",
        "user_id": "c28xyrc55866bvuv",
        "course_id": "16873-ENG",
        "revision_id": "16873-ENG",
        "status": ProgressionStatus.COMPLETED,
        "source_status": "completion",
        "enrolled_at": None,
        "completed_at": SEED_TIME,
        "due_at": None,
        "progress_percent": 100.0,
        "score": None,
        "time_spent_seconds": None,
        "result": ProgressionResult.PASS,
        "created_at": SEED_TIME,
        "updated_at": SEED_TIME,
        "deleted_at": None,
    }
    assert progression.remote_data is not None
    assert progression.remote_data["assignment"] is None
    assert progression.remote_data["completion"]["remote_id"] == (
        "8187e5da-dc77-475e-9949-af0f1fa4e4e3"
    )


def test_course_of_each_learning_object_type() -> None:
    pairs = {p.learning_object_id: p for p in pair_records(assignments(), completions())}
    assert course_of(pairs[SOFTWARE], {}) == SOFTWARE
    assert course_of(pairs[VIDEO], {VIDEO: PRIVACY}) == PRIVACY
    assert course_of(pairs[VIDEO], {}) is None  # content not found
    assert course_of(pairs["collection-1"], {"collection-1": SOFTWARE}) is None
    untyped = LearningPair(JOHN, SOFTWARE, assignment(), None)
    assert untyped.learning_object_type is None
    assert course_of(untyped, {}) is None
