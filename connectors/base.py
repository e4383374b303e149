"""What every connector offers the graph: one Protocol, in the unified model's terms."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from connectors.breaker import CircuitBreaker
from connectors.model import Course, Progression, Record, Skill, User

__all__ = ["Capabilities", "Connector", "ListQuery", "Page"]

T_co = TypeVar("T_co", bound=Record, covariant=True)


@dataclass(frozen=True, slots=True)
class ListQuery:
    """Filters of a top-level list, in vendor-neutral terms."""

    updated_after: datetime | None = None
    include_deleted: bool = False


@dataclass(frozen=True, slots=True)
class Page(Generic[T_co]):
    """One vendor page.

    Attributes:
        items: The records, in the vendor's order.
        next_token: Opaque token for the following page; None on the last page.
        total_count: Items in the whole list, when the vendor tells; merged lists sum
            them when every source counts.
    """

    items: Sequence[T_co]
    next_token: str | None
    total_count: int | None = None


@dataclass(frozen=True, slots=True)
class Capabilities:
    """Limits of a vendor that the loaders and pagination respect.

    Attributes:
        max_page_size: Largest page the vendor serves.
        max_batch_size: IDs per batched look-up call.
    """

    max_page_size: int
    max_batch_size: int


class Connector(Protocol):
    """One configured source.

    Look-ups by ID return a mapping from ID to record; an ID the vendor does not
    know is simply absent. Failures raise :class:`connectors.errors.ConnectorError`.

    Attributes:
        name: The configured source's name (unique).
        kind: The vendor kind (``kombo`` …).
        tenant: A non-secret identity of the vendor tenant (integration or account ID):
            what keeps one tenant's data apart from another's.
        breaker: The source's circuit breaker (its state is shown on ``/readyz``).
    """

    name: str
    kind: str
    tenant: str
    capabilities: Capabilities
    breaker: CircuitBreaker

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def check_health(self) -> None:
        """Make the cheapest authenticated call; raise ConnectorError if it fails."""
        ...

    async def list_users(self, query: ListQuery, token: str | None, size: int) -> Page[User]: ...

    async def list_courses(
        self, query: ListQuery, token: str | None, size: int
    ) -> Page[Course]: ...

    async def list_skills(self, query: ListQuery, token: str | None, size: int) -> Page[Skill]: ...

    async def list_progressions(
        self, query: ListQuery, token: str | None, size: int
    ) -> Page[Progression]: ...

    async def fetch_users(self, ids: Sequence[str]) -> Mapping[str, User]: ...

    async def fetch_courses(self, ids: Sequence[str]) -> Mapping[str, Course]: ...

    async def fetch_skills(self, ids: Sequence[str]) -> Mapping[str, Skill]: ...

    async def fetch_progressions(self, ids: Sequence[str]) -> Mapping[str, Progression]: ...

    async def fetch_users_by_email(self, emails: Sequence[str]) -> Mapping[str, Sequence[User]]:
        """The (not deleted) users with each email, keyed by the email as given.

        Emails arrive lower-cased and match case-insensitively: one person can be
        ``Ann@x.com`` in one system and ``ann@x.com`` in another.
        """
        ...

    async def fetch_progressions_of_users(
        self, user_ids: Sequence[str]
    ) -> Mapping[str, Sequence[Progression]]:
        """All progressions of each user, in the vendor's order (deleted ones left out)."""
        ...

    async def fetch_progressions_of_courses(
        self, course_ids: Sequence[str]
    ) -> Mapping[str, Sequence[Progression]]:
        """All progressions on any revision of each course (deleted ones left out)."""
        ...
