"""Top-level lists (users, courses, skills, progressions) across the selected sources."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.base import Connector, ListQuery, Page
from connectors.errors import VendorBadResponse
from connectors.model import EntityKind, Record
from connectors.pagination import RepeatedTokenError, TokenChain
from resolvers.context import Context
from resolvers.cursors import scope_of
from resolvers.errors import InvalidArgumentError
from resolvers.paging import ConnectionArgs, Slice, Sourced, SourceList, merged_slice

__all__ = ["ListFilters", "list_records"]


@dataclass(frozen=True, slots=True)
class ListFilters:
    updated_after: datetime | None = None
    include_deleted: bool = False
    source: str | None = None
    sources: Sequence[str] | None = None

    def selected(self) -> Sequence[str] | None:
        if self.source is not None and self.sources is not None:
            raise InvalidArgumentError("pass either `source` or `sources`, not both")
        return [self.source] if self.source is not None else self.sources

    def since(self) -> datetime | None:
        """``updated_after`` as an aware UTC instant, the one form every connector gets.

        Read as UTC when it has no offset (the vendors' own convention, and the only
        zone the server knows); refused when it has no UTC spelling (year 1 at +14:00),
        which would otherwise fail inside a connector as an internal error.
        """
        moment = self.updated_after
        if moment is None:
            return None
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        try:
            return moment.astimezone(UTC)
        except OverflowError:
            raise InvalidArgumentError(
                f"`updatedAfter` {moment.isoformat()} is outside the dates UTC can express "
                "(years 1 to 9999)"
            ) from None


def _lister(
    connector: Connector, entity: EntityKind
) -> Callable[[ListQuery, str | None, int], Awaitable[Page[Any]]]:
    return {
        EntityKind.USERS: connector.list_users,
        EntityKind.COURSES: connector.list_courses,
        EntityKind.SKILLS: connector.list_skills,
        EntityKind.PROGRESSIONS: connector.list_progressions,
    }[entity]


def _source_list(
    context: Context, connector: Connector, entity: EntityKind, query: ListQuery
) -> SourceList[Any]:
    lister = _lister(connector, entity)
    loaders = context.loaders.of(connector.name)
    chain: TokenChain[str] = TokenChain()

    async def fetch(token: str | None, size: int) -> Page[Any]:
        page = await lister(query, token, size)
        try:
            chain.link(token, page.next_token)
        except RepeatedTokenError:
            raise VendorBadResponse(
                f"{entity.value}: pagination cursor repeated",
                source=connector.name,
                vendor=connector.kind,
            ) from None
        loaders.prime(entity, page.items)
        return page

    return SourceList(connector.name, fetch, connector.capabilities.max_page_size)


async def list_records(
    context: Context,
    entity: EntityKind,
    args: ConnectionArgs,
    filters: ListFilters,
    path: tuple[str | int, ...],
) -> Slice[Sourced[Record]]:
    """One page of a top-level list; failing sources are reported, the rest served."""
    connectors = context.sources.select(filters.selected())
    query = ListQuery(updated_after=filters.since(), include_deleted=filters.include_deleted)
    scope = scope_of(
        entity,
        [c.name for c in connectors],
        query.updated_after.isoformat() if query.updated_after else None,
        query.include_deleted,
    )
    lists = [_source_list(context, connector, entity, query) for connector in connectors]
    result = await merged_slice(lists, args, scope)
    context.report(result.failures, path)
    return result
