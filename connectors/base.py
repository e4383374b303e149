"""What every connector offers the graph: one Protocol, in the unified model's terms."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from connectors.breaker import CircuitBreaker
from connectors.model import Course, EntityKind, Progression, Record, Skill, User

__all__ = [
    "FREE",
    "CallPrice",
    "Capabilities",
    "Connector",
    "ListQuery",
    "Lookup",
    "Page",
    "Pricing",
]

T_co = TypeVar("T_co", bound=Record, covariant=True)


@dataclass(frozen=True, slots=True)
class ListQuery:
    """Filters of a top-level list, in vendor-neutral terms; ``updated_after`` is aware
    (the resolvers pass UTC), and a naive one is read as UTC."""

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


class Lookup(StrEnum):
    """The batched look-ups of :class:`Connector`, by the method that serves them."""

    USERS = "fetch_users"
    COURSES = "fetch_courses"
    SKILLS = "fetch_skills"
    PROGRESSIONS = "fetch_progressions"
    USERS_BY_EMAIL = "fetch_users_by_email"
    PROGRESSIONS_OF_USERS = "fetch_progressions_of_users"
    PROGRESSIONS_OF_COURSES = "fetch_progressions_of_courses"


@dataclass(frozen=True, slots=True)
class CallPrice:
    """What one list read or one batched look-up costs at the vendor, in HTTP calls.

    For ``keys`` IDs (or list items) and ``results`` expected records, the price is
    ``chunks * calls + keys * per_key + fixed``, where ``chunks`` is
    ``ceil(keys / per_call)``, or ``ceil(results / results_per_call)`` when a look-up
    pages through more results than that.

    Attributes:
        per_call: IDs (or items) one call covers: the page size, or the IDs per batched
            call; 1 means one call per ID.
        calls: Calls per chunk (e.g. a page of users plus their bulk enrolments: 2).
        per_key: Further calls for every key (e.g. one progress call per listed user).
        fixed: Further calls once per operation (e.g. a catalogue read beside the IDs).
        results_per_call: Records one call returns when a look-up pages through its
            results (None: one call per chunk whatever the results).
    """

    per_call: int = 1
    calls: int = 1
    per_key: int = 0
    fixed: int = 0
    results_per_call: int | None = None

    def price(self, keys: int, results: int = 0) -> int:
        if keys <= 0:
            return 0
        chunks = math.ceil(keys / self.per_call)
        if self.results_per_call is not None:
            chunks = max(chunks, math.ceil(results / self.results_per_call))
        return chunks * self.calls + keys * self.per_key + self.fixed


#: An operation the vendor cannot serve, answered without a call (e.g. Absorb's skills).
FREE = CallPrice(calls=0)


@dataclass(frozen=True, slots=True)
class Pricing:
    """A connector's prices, read by the server's cost limit before a query runs.

    Attributes:
        pages: Reading list items of each entity (``Connector.list_*``).
        lookups: Each batched look-up; a missing one costs one call per key.
    """

    pages: Mapping[EntityKind, CallPrice] = field(default_factory=dict)
    lookups: Mapping[Lookup, CallPrice] = field(default_factory=dict)

    def page(self, entity: EntityKind, items: int) -> int:
        """Calls to read ``items`` items of a list."""
        return self.pages.get(entity, CallPrice()).price(items)

    def lookup(self, lookup: Lookup, keys: int, results: int = 0) -> int:
        """Calls to look up ``keys`` keys that together have about ``results`` records."""
        return self.lookups.get(lookup, CallPrice()).price(keys, results)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """Limits of a vendor that the loaders and pagination respect, and its prices.

    Attributes:
        max_page_size: Largest page the vendor serves.
        max_batch_size: IDs per batched look-up call.
        pricing: Vendor calls per list read and per look-up (the cost limit's input).
    """

    max_page_size: int
    max_batch_size: int
    pricing: Pricing = Pricing()


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
