"""Serialisation: every model type survives the store unchanged; junk is a miss."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from connectors.base import Page
from connectors.model import (
    Course,
    EntityKind,
    Progression,
    ProgressionResult,
    ProgressionStatus,
    Provider,
    Record,
    Revision,
    RevisionStatus,
    Skill,
    User,
    UserStatus,
)
from resolvers.cache.entries import ENTITY_CODECS, GROUP_CODECS, PAGE_CODECS, StoredPage

MOMENT = datetime(2024, 3, 1, 9, 30, 15, 123000, tzinfo=UTC)
SKILL = Skill(id="s1", name="SQL", updated_at=MOMENT, remote_data={"level": [1, 2]})
USER = User(
    id="u1",
    first_name="Ann",
    last_name="Lee",
    email="ann@acme.com",
    status=UserStatus.ACTIVE,
    created_at=MOMENT,
    remote_data={"dept": "R&D", "nested": {"a": None, "b": 1.5}},
)
COURSE = Course(
    id="c1",
    title="Intro",
    description="d",
    url="https://x/c1",
    provider=Provider(id="p1", name="Coursera"),
    skills=(SKILL,),
    revisions=(
        Revision(
            id="r1",
            course_id="c1",
            title="Intro v1",
            status=RevisionStatus.INACTIVE,
            skills=(SKILL,),
            deleted_at=MOMENT,
        ),
        Revision(id="r2", course_id="c1", title="Intro v2", status=RevisionStatus.ACTIVE),
    ),
    revisions_listed=False,
)
PROGRESSION = Progression(
    id="g1",
    user_id="u1",
    course_id="c1",
    revision_id="r2",
    status=ProgressionStatus.COMPLETED,
    source_status="completed",
    enrolled_at=MOMENT,
    completed_at=MOMENT,
    due_at=MOMENT,
    progress_percent=100.0,
    score=87.5,
    time_spent_seconds=3600,
    result=ProgressionResult.PASS,
)
RECORDS: dict[EntityKind, Record] = {
    EntityKind.USERS: USER,
    EntityKind.COURSES: COURSE,
    EntityKind.SKILLS: SKILL,
    EntityKind.PROGRESSIONS: PROGRESSION,
}


@pytest.mark.parametrize("kind", list(EntityKind))
def test_entities_round_trip_with_their_storage_time(kind: EntityKind) -> None:
    codec = ENTITY_CODECS[kind]
    raw = codec.encode(RECORDS[kind], 1234.5)
    assert isinstance(raw, bytes)
    entry = codec.decode(raw)
    assert entry is not None
    assert entry.stored_at == 1234.5
    assert entry.value == RECORDS[kind]
    assert type(entry.value) is type(RECORDS[kind])


@pytest.mark.parametrize("kind", list(EntityKind))
def test_negative_entries_round_trip(kind: EntityKind) -> None:
    entry = ENTITY_CODECS[kind].decode(ENTITY_CODECS[kind].encode(None, 7.0))
    assert entry is not None
    assert entry.value is None


@pytest.mark.parametrize("kind", list(EntityKind))
def test_pages_round_trip(kind: EntityKind) -> None:
    page = Page([RECORDS[kind], RECORDS[kind]], next_token="cursor-2", total_count=41)
    codec = PAGE_CODECS[kind]
    entry = codec.decode(codec.encode(StoredPage[Record].of(page), 1.0))
    assert entry is not None
    assert entry.value.page() == Page(list(page.items), "cursor-2", 41)


@pytest.mark.parametrize("kind", [EntityKind.USERS, EntityKind.PROGRESSIONS])
def test_groups_round_trip(kind: EntityKind) -> None:
    codec = GROUP_CODECS[kind]
    for group in [(RECORDS[kind],), ()]:
        entry = codec.decode(codec.encode(group, 1.0))
        assert entry is not None
        assert entry.value == group


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b'{"stored_at": 1.0}',
        b'{"stored_at": "yesterday", "value": null}',
        b"\xff\xfe\x00garbage",
        ENTITY_CODECS[EntityKind.USERS].encode(USER, 1.0)[:-5],
    ],
)
def test_anything_else_decodes_to_a_miss(raw: bytes) -> None:
    assert ENTITY_CODECS[EntityKind.USERS].decode(raw) is None


def test_a_record_of_another_kind_is_a_miss_not_a_wrong_record() -> None:
    as_user = ENTITY_CODECS[EntityKind.USERS].encode(USER, 1.0)
    assert ENTITY_CODECS[EntityKind.COURSES].decode(as_user) is None
    assert ENTITY_CODECS[EntityKind.PROGRESSIONS].decode(as_user) is None


SPARSE: list[tuple[EntityKind, Record, dict[str, str]]] = [
    (EntityKind.USERS, User(id="u2", email="bo@acme.com"), {"id": "u2", "email": "bo@acme.com"}),
    (EntityKind.COURSES, Course(id="c2", title="Go"), {"id": "c2", "title": "Go"}),
    (EntityKind.SKILLS, Skill(id="s2", name="Go"), {"id": "s2", "name": "Go"}),
    (
        EntityKind.PROGRESSIONS,
        Progression(id="g2", user_id="u2", course_id="c2"),
        {"id": "g2", "user_id": "u2", "course_id": "c2"},
    ),
]


@pytest.mark.parametrize(("kind", "record", "fields"), SPARSE)
def test_entries_hold_only_the_fields_that_differ_from_their_defaults(
    kind: EntityKind, record: Record, fields: dict[str, str]
) -> None:
    """What Redis holds, and what the memory bound counts per JSON byte, is the fields a
    record has: unset ones (None, empty) are left out and come back on reading."""
    codec = ENTITY_CODECS[kind]
    raw = codec.encode(record, 5.0)
    assert json.loads(raw) == {"stored_at": 5.0, "value": fields}
    entry = codec.decode(raw)
    assert entry is not None
    assert entry.value == record
