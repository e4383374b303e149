"""A deterministic, vendor-neutral LMS data set for the emulator and the tests.

Everything is derived from one ``random.Random(seed)`` and a fixed base date, never the
clock, so the same arguments always give an equal :class:`World`.
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from connectors.sandbox._names import FIRST_NAMES, LAST_NAMES, LEVELS, PROVIDERS, SKILLS
from connectors.sandbox.records import (
    ProgressionStatus,
    World,
    WorldCourse,
    WorldProgression,
    WorldProvider,
    WorldRevision,
    WorldSkill,
    WorldUser,
)

__all__ = [
    "BASE_DATE",
    "ID_ALPHABET",
    "IdStyle",
    "ProgressionStatus",
    "World",
    "WorldCourse",
    "WorldProgression",
    "WorldProvider",
    "WorldRevision",
    "WorldSkill",
    "WorldUser",
    "generate_world",
    "share_people",
]

BASE_DATE = datetime(2026, 1, 1, tzinfo=UTC)
#: Base58: the characters of Kombo IDs.
ID_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
#: How each vendor's IDs look: Kombo and StackOne base58, Absorb GUIDs, Skilljar ``[0-9a-z]+``.
IdStyle = Literal["base58", "guid", "lower36"]
_LOWER36 = "0123456789abcdefghijklmnopqrstuvwxyz"

_STATUSES: tuple[ProgressionStatus, ...] = ("ENROLLED", "IN_PROGRESS", "COMPLETED", "DROPPED")
_STATUS_WEIGHTS = (0.25, 0.3, 0.35, 0.1)
_DELETED_SHARE = 0.03


class _Gen:
    """Random helpers bound to one ``random.Random``; keeps generate_world readable."""

    def __init__(self, seed: int, id_style: IdStyle = "base58") -> None:
        self.rng = random.Random(seed)
        self._ids: set[str] = set()
        self._id_style = id_style

    def _candidate(self) -> str:
        if self._id_style == "guid":
            return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        alphabet, length = (ID_ALPHABET, 24) if self._id_style == "base58" else (_LOWER36, 12)
        number, digits = self.rng.getrandbits(141), []
        for _ in range(length):
            number, digit = divmod(number, len(alphabet))
            digits.append(alphabet[digit])
        return "".join(digits)

    def id(self) -> str:
        while True:
            candidate = self._candidate()
            if candidate not in self._ids:
                self._ids.add(candidate)
                return candidate

    def after(self, start: datetime, max_days: int) -> datetime:
        # Whole milliseconds, so the wire format (ms precision) round-trips exactly.
        return start + timedelta(milliseconds=self.rng.randrange(max_days * 86_400_000 + 1))

    def deleted(self, changed_at: datetime) -> datetime | None:
        if self.rng.random() >= _DELETED_SHARE:
            return None
        return self.after(changed_at, 30)


def _name(pool: tuple[str, ...], index: int) -> str:
    base = pool[index % len(pool)]
    return base if index < len(pool) else f"{base} {index // len(pool) + 1}"


def _course(
    g: _Gen, no: int, providers: tuple[WorldProvider, ...], skills: list[str]
) -> WorldCourse:
    rng = g.rng
    course_id, created = g.id(), g.after(BASE_DATE, 120)
    topic = SKILLS[rng.randrange(len(SKILLS))]
    title = f"{rng.choice(LEVELS)} {topic}"
    count = rng.randint(1, 3)
    all_inactive = rng.random() < 0.08
    revisions: list[WorldRevision] = []
    rev_created = created
    for k in range(1, count + 1):
        rev_created = g.after(rev_created, 12)
        newest = k == count
        changed = g.after(rev_created, 20)
        # Only superseded revisions disappear; the live one stays visible.
        deleted = None if newest else g.deleted(changed)
        revisions.append(
            WorldRevision(
                id=g.id(),
                remote_id=f"rev-{no}-{k}",
                course_id=course_id,
                title=title if k == 1 else f"{title} (v{k})",
                description=f"{title}: a self-paced course on {topic.lower()}, revision {k}.",
                url=f"https://learning.acme.example/courses/{no}/v{k}",
                status="ACTIVE" if newest and not all_inactive else "INACTIVE",
                skill_ids=tuple(rng.sample(skills, k=min(len(skills), rng.randint(0, 4)))),
                created_at=rev_created,
                changed_at=deleted or changed,
                deleted_at=deleted,
            )
        )
    changed = g.after(created, 60)
    deleted = g.deleted(changed)
    return WorldCourse(
        id=course_id,
        remote_id=f"course-{no}",
        provider_id=rng.choice(providers).id if providers and rng.random() < 0.8 else None,
        origin_id=f"origin-{no}" if rng.random() < 0.3 else None,
        created_at=created,
        changed_at=deleted or changed,
        deleted_at=deleted,
        revisions=tuple(revisions),
    )


def _user(g: _Gen, index: int) -> WorldUser:
    rng = g.rng
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = f"{first}.{last}{index}@example.com"
    email = email if index % 17 == 5 else email.lower()  # a few mixed-case addresses
    created = g.after(BASE_DATE, 120)
    changed = g.after(created, 60)
    deleted = g.deleted(changed)
    return WorldUser(
        id=g.id(),
        remote_id=f"user-{1000 + index}",
        first_name=first,
        last_name=last,
        email=email,
        status="INACTIVE" if deleted or rng.random() < 0.08 else "ACTIVE",
        created_at=created,
        changed_at=deleted or changed,
        deleted_at=deleted,
    )


def _progression(g: _Gen, no: int, user: WorldUser, course: WorldCourse) -> WorldProgression:
    rng = g.rng
    status = rng.choices(_STATUSES, weights=_STATUS_WEIGHTS)[0]
    newest = course.revisions[-1]
    revision = newest if rng.random() < 0.8 else rng.choice(course.revisions)
    enrolled = g.after(max(user.created_at, revision.created_at), 40)
    completed = g.after(enrolled, 40) if status == "COMPLETED" else None
    changed = g.after(completed or enrolled, 30)
    deleted = g.deleted(changed)
    if status in ("ENROLLED", "COMPLETED"):
        progress = 0.0 if status == "ENROLLED" else 100.0
    else:
        progress = float(rng.randint(1, 99 if status == "IN_PROGRESS" else 80))
    return WorldProgression(
        id=g.id(),
        remote_id=f"prog-{9000 + no}",
        user_id=user.id,
        revision_id=revision.id,
        course_id=course.id,
        status=status,
        enrolled_at=enrolled,
        completed_at=completed,
        changed_at=deleted or changed,
        deleted_at=deleted,
        progress_percent=progress if rng.random() < 0.9 else None,
        score=round(rng.uniform(50, 100), 1) if completed and rng.random() < 0.7 else None,
        due_at=g.after(enrolled + timedelta(days=30), 30) if rng.random() < 0.5 else None,
        time_spent_seconds=int(progress * rng.randint(20, 90)) if rng.random() < 0.85 else None,
    )


def generate_world(
    seed: int = 7,
    users: int = 120,
    courses: int = 40,
    skills: int = 25,
    providers: int = 6,
    *,
    id_style: IdStyle = "base58",
) -> World:
    """Generate a deterministic LMS data set.

    Args:
        seed: Seed of the single random generator; equal arguments give equal worlds.
        users: Number of users (at least 1).
        courses: Number of courses (at least 1).
        skills: Number of skills.
        providers: Number of course providers.
        id_style: What the IDs look like, to match the vendor that serves the world.

    Returns:
        The world; about 3% of users, courses, revisions, skills and progressions are
        soft-deleted (``deleted_at`` set, ``changed_at`` equal to it).
    """
    if users < 1 or courses < 1 or skills < 0 or providers < 0:
        message = "need at least one user and one course, and no negative counts"
        raise ValueError(message)
    g = _Gen(seed, id_style)
    skill_rows: list[WorldSkill] = []
    for i in range(skills):
        changed = g.after(BASE_DATE, 150)
        deleted = g.deleted(changed)
        skill_rows.append(
            WorldSkill(g.id(), f"skill-{i + 1}", _name(SKILLS, i), deleted or changed, deleted)
        )
    provider_rows = tuple(
        WorldProvider(g.id(), f"provider-{i + 1}", _name(PROVIDERS, i)) for i in range(providers)
    )
    live_skills = [s.id for s in skill_rows if s.deleted_at is None]
    course_rows = tuple(_course(g, i + 1, provider_rows, live_skills) for i in range(courses))
    user_rows = tuple(_user(g, i) for i in range(users))
    counts = [g.rng.randint(0, min(12, courses)) for _ in user_rows]
    if not any(n == 0 and u.deleted_at is None for n, u in zip(counts, user_rows, strict=True)):
        live = [i for i, u in enumerate(user_rows) if u.deleted_at is None] or [0]
        counts[g.rng.choice(live)] = 0
    progression_rows: list[WorldProgression] = []
    for user, count in zip(user_rows, counts, strict=True):
        for course in g.rng.sample(course_rows, k=count):
            progression_rows.append(_progression(g, len(progression_rows) + 1, user, course))
    return World(
        users=user_rows,
        courses=course_rows,
        skills=tuple(skill_rows),
        providers=provider_rows,
        progressions=tuple(progression_rows),
    )


def share_people(worlds: Sequence[World], share: float = 0.3, seed: int = 0) -> list[World]:
    """The worlds with some people of the first one also present in each other one.

    A person in several systems is how federation looks in practice: the same work
    email, sometimes cased differently, under each vendor's own user ID. In every world
    after the first, about ``share`` of the users take the name and email of a user of
    the first world (each borrowed at most once per world), every third one in upper case.

    Args:
        worlds: The first world lends people; the others borrow them.
        share: Share of each borrowing world's users that become shared people.
        seed: Seed of the choice of who is shared.

    Returns:
        New worlds; the first is returned unchanged.
    """
    if not worlds:
        return []
    rng = random.Random(seed)
    lender, result = worlds[0], [worlds[0]]
    for world in worlds[1:]:
        count = min(len(world.users), len(lender.users), round(len(world.users) * share))
        borrowers = set(rng.sample(range(len(world.users)), k=count))
        donors = iter(rng.sample(lender.users, k=count))
        users: list[WorldUser] = []
        for index, user in enumerate(world.users):
            if index in borrowers:
                donor = next(donors)
                email = donor.email.upper() if index % 3 == 0 else donor.email
                user = dataclasses.replace(
                    user, first_name=donor.first_name, last_name=donor.last_name, email=email
                )
            users.append(user)
        result.append(dataclasses.replace(world, users=tuple(users)))
    return result
