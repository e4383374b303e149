"""What the cache stores: unified-model records in a JSON envelope with their storage time.

Values are serialised with pydantic (never pickled, never Strawberry objects), so an
entry written by one lms-graph process is read by any other of the same key version,
and a value that does not parse is just a miss.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from connectors.base import Page
from connectors.model import Course, EntityKind, Progression, Record, Skill, User

__all__ = [
    "ENTITY_CODECS",
    "GROUP_CODECS",
    "PAGE_CODECS",
    "Codec",
    "Entry",
    "StoredPage",
]

V = TypeVar("V")
R = TypeVar("R", bound=Record)


class Entry(BaseModel, Generic[V]):
    """A stored value and when it was stored (seconds since the epoch).

    ``value`` None is a negative entry: the vendor said the ID does not exist.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    stored_at: float
    value: V


class StoredPage(BaseModel, Generic[R]):
    """A vendor page as stored; :meth:`page` turns it back into a connector ``Page``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    items: tuple[R, ...]
    next_token: str | None
    total_count: int | None

    @classmethod
    def of(cls, page: Page[R]) -> StoredPage[R]:
        return cls(
            items=tuple(page.items), next_token=page.next_token, total_count=page.total_count
        )

    def page(self) -> Page[R]:
        return Page(list(self.items), self.next_token, self.total_count)


@dataclass(frozen=True, slots=True)
class Codec(Generic[V]):
    """Turns values of one type into stored bytes and back."""

    adapter: TypeAdapter[Entry[V]]

    def encode(self, value: V, stored_at: float) -> bytes:
        return self.dump(self.entry(value, stored_at))

    def entry(self, value: V, stored_at: float) -> Entry[V]:
        """``value`` stored now; the value object itself, not a copy (records are frozen)."""
        return Entry[V](stored_at=stored_at, value=value)

    def dump(self, entry: Entry[V]) -> bytes:
        # Defaults come back on reading: leaving them out halves what Redis holds.
        return self.adapter.dump_json(entry, exclude_defaults=True)

    def decode(self, raw: bytes | str) -> Entry[V] | None:
        """The entry, or None when ``raw`` is not one (corrupt, or another shape)."""
        try:
            return self.adapter.validate_json(raw)
        except ValidationError:
            return None


def _codec(value_type: Any) -> Codec[Any]:
    # Any: unions and parametrised generics are not `type[...]` to mypy.
    return Codec(TypeAdapter(Entry[value_type]))


# Built once, here: a TypeAdapter compiles its validator and serialiser when created.
ENTITY_CODECS: dict[EntityKind, Codec[Record | None]] = {
    EntityKind.USERS: _codec(User | None),
    EntityKind.COURSES: _codec(Course | None),
    EntityKind.SKILLS: _codec(Skill | None),
    EntityKind.PROGRESSIONS: _codec(Progression | None),
}
PAGE_CODECS: dict[EntityKind, Codec[StoredPage[Record]]] = {
    EntityKind.USERS: _codec(StoredPage[User]),
    EntityKind.COURSES: _codec(StoredPage[Course]),
    EntityKind.SKILLS: _codec(StoredPage[Skill]),
    EntityKind.PROGRESSIONS: _codec(StoredPage[Progression]),
}
GROUP_CODECS: dict[EntityKind, Codec[Sequence[Record]]] = {
    EntityKind.USERS: _codec(tuple[User, ...]),
    EntityKind.PROGRESSIONS: _codec(tuple[Progression, ...]),
}
