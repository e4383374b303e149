"""People: the accounts one learner has in several sources, grouped by work email.

Vendors share no user IDs, but a person's work email is the same everywhere (up to
case), so the email is what ties ``ann@acme.com`` in Absorb to ``Ann@Acme.com`` in
Kombo. Each source is asked through its batched ``users_by_email`` loader; a source that
fails is reported next to the accounts the others found.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from connectors.model import Progression, User
from resolvers.context import Context
from resolvers.errors import InvalidArgumentError
from resolvers.paging import Sourced, gather_sources

__all__ = ["MAX_EMAIL_LENGTH", "Person", "find_person", "normalise_email", "person_progressions"]

MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a forward path
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Person:
    """One email and the accounts that have it, in source configuration order."""

    email: str
    users: tuple[Sourced[User], ...]


def normalise_email(raw: str) -> str:
    email = raw.strip().lower()
    local, at, domain = email.partition("@")
    if not at or not local or not domain or len(email) > MAX_EMAIL_LENGTH or " " in email:
        raise InvalidArgumentError("`email` must be an email address such as ann@example.com")
    return email


async def _per_source(
    context: Context, calls: Sequence[tuple[str, Awaitable[T]]], path: tuple[str | int, ...]
) -> list[tuple[str, T]]:
    """Await ``(source, call)`` pairs together; failed sources are reported, not raised."""
    answered, failures = await gather_sources(calls)
    context.report(failures, path)
    return answered


async def find_person(
    context: Context, email: str, sources: Sequence[str] | None, path: tuple[str | int, ...]
) -> Person | None:
    """Everyone with ``email`` in the selected sources; None when no source has one."""
    wanted = normalise_email(email)
    calls = [
        (connector.name, context.loaders.of(connector.name).users_by_email.load(wanted))
        for connector in context.sources.select(sources)
    ]
    found = await _per_source(context, calls, path)
    users = tuple(Sourced(source, user) for source, group in found for user in group)
    return Person(wanted, users) if users else None


async def person_progressions(
    context: Context, person: Person, path: tuple[str | int, ...]
) -> list[Sourced[Progression]]:
    """Every account's progressions, account by account in the person's order."""
    calls = [
        (
            account.source,
            context.loaders.of(account.source).progressions_of_user.load(account.record.id),
        )
        for account in person.users
    ]
    found = await _per_source(context, calls, path)
    return [Sourced(source, p) for source, progressions in found for p in progressions]
