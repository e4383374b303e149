"""Per-request DataLoaders: every look-up of one request batched into the vendor's bulk calls.

One :class:`SourceLoaders` per source and request. Each loader turns the keys gathered
in one tick of the event loop into as few connector calls as the vendor allows
(``max_batch_size`` = the vendor's IDs-per-call limit); a key the vendor does not know
resolves to None, and a failed call fails each of its keys with the connector's error.
Revisions have no endpoint of their own at most vendors, so they are read through the
course loader: progressions → revision → course costs one courses call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from connectors.base import Connector
from connectors.model import (
    Course,
    EntityKind,
    Progression,
    Record,
    Revision,
    Skill,
    User,
)
from resolvers.sources import SourceRegistry

__all__ = ["Loaders", "RevisionRef", "SourceLoaders"]

V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class RevisionRef:
    """A revision is found through its course."""

    course_id: str
    revision_id: str


def _by_key(
    fetch: Callable[[Sequence[str]], Awaitable[Mapping[str, V]]],
) -> Callable[[list[str]], Awaitable[list[V | None]]]:
    async def load(keys: list[str]) -> list[V | None]:
        found = await fetch(keys)
        return [found.get(key) for key in keys]

    return load


def _groups(
    fetch: Callable[[Sequence[str]], Awaitable[Mapping[str, Sequence[V]]]],
) -> Callable[[list[str]], Awaitable[list[Sequence[V]]]]:
    async def load(keys: list[str]) -> list[Sequence[V]]:
        found = await fetch(keys)
        return [found.get(key, ()) for key in keys]

    return load


class SourceLoaders:
    """The loaders of one source for one request."""

    def __init__(self, connector: Connector) -> None:
        batch = connector.capabilities.max_batch_size
        self.users = DataLoader[str, User | None](
            _by_key(connector.fetch_users), max_batch_size=batch
        )
        self.courses = DataLoader[str, Course | None](
            _by_key(connector.fetch_courses), max_batch_size=batch
        )
        self.skills = DataLoader[str, Skill | None](
            _by_key(connector.fetch_skills), max_batch_size=batch
        )
        self.progressions = DataLoader[str, Progression | None](
            _by_key(connector.fetch_progressions), max_batch_size=batch
        )
        self.users_by_email = DataLoader[str, Sequence[User]](
            _groups(connector.fetch_users_by_email), max_batch_size=batch
        )
        self.progressions_of_user = DataLoader[str, Sequence[Progression]](
            _groups(connector.fetch_progressions_of_users), max_batch_size=batch
        )
        self.progressions_of_course = DataLoader[str, Sequence[Progression]](
            _groups(connector.fetch_progressions_of_courses), max_batch_size=batch
        )
        self.revisions = DataLoader[RevisionRef, Revision | None](self._load_revisions)

    async def _load_revisions(self, refs: list[RevisionRef]) -> list[Revision | None]:
        courses = await self.courses.load_many([ref.course_id for ref in refs])
        return [
            course.revision(ref.revision_id) if course else None
            for ref, course in zip(refs, courses, strict=True)
        ]

    async def revisions_of(self, course: Course) -> list[Revision]:
        """Every revision of ``course``, oldest first where the vendor lists them.

        A vendor that lists no versions (Absorb) names them only on enrolments: the
        revisions are then those the course's enrolments name, in the order they are
        first named, or the course as its own single revision when none names one.
        Reading them costs the course's grouped progressions look-up (batched, cached).
        """
        if course.revisions_listed:
            return list(course.revisions)
        progressions = await self.progressions_of_course.load(course.id)
        named = dict.fromkeys(p.revision_id for p in progressions if p.revision_id is not None)
        found = [course.revision(revision_id) for revision_id in named or [course.id]]
        return [revision for revision in found if revision is not None]

    def prime(self, entity: EntityKind, records: Sequence[Record]) -> None:
        """Remember records a list already returned, so looking them up costs no call."""
        loaders: dict[EntityKind, DataLoader[str, Any]] = {
            EntityKind.USERS: self.users,
            EntityKind.COURSES: self.courses,
            EntityKind.SKILLS: self.skills,
            EntityKind.PROGRESSIONS: self.progressions,
        }
        loaders[entity].prime_many({record.id: record for record in records})


class Loaders:
    """All loaders of one request, created on first use per source."""

    def __init__(self, registry: SourceRegistry) -> None:
        self._registry = registry
        self._by_source: dict[str, SourceLoaders] = {}

    def of(self, source: str) -> SourceLoaders:
        loaders = self._by_source.get(source)
        if loaders is None:
            loaders = SourceLoaders(self._registry.get(source))
            self._by_source[source] = loaders
        return loaders
