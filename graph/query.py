"""The root Query: Relay look-ups, top-level lists across sources, and the sources."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from connectors.breaker import BreakerState
from connectors.errors import ConnectorError
from connectors.model import EntityKind
from graph.types import (
    Course,
    CourseConnection,
    Person,
    Progression,
    ProgressionConnection,
    Provider,
    Revision,
    Skill,
    SkillConnection,
    User,
    UserConnection,
    build_connection,
)
from resolvers.cache import CachedConnector, report_uncacheable
from resolvers.context import Context
from resolvers.errors import InvalidArgumentError, InvalidIdError
from resolvers.ids import check_id_length
from resolvers.lists import ListFilters, list_records
from resolvers.paging import ConnectionArgs

__all__ = ["Query"]

Info = strawberry.Info[Context, None]

NODE_TYPES: dict[str, Any] = {
    cls.__name__: cls for cls in (User, Course, Revision, Skill, Progression, Provider)
}
MAX_NODES = 250


def _parse_id(raw: str, expected: type | None = None) -> tuple[Any, str]:
    check_id_length(raw)
    try:
        global_id = relay.GlobalID.from_id(raw)
    except ValueError:
        raise InvalidIdError(f"{raw!r} is not an ID this API issued") from None
    node_type = NODE_TYPES.get(global_id.type_name)
    if node_type is None:
        raise InvalidIdError(f"{raw!r} names an unknown type {global_id.type_name!r}")
    if expected is not None and node_type is not expected:
        raise InvalidIdError(f"{raw!r} is a {global_id.type_name} ID, not a {expected.__name__} ID")
    return node_type, global_id.node_id


async def _resolve_node(info: Info, raw: str, expected: type | None = None) -> Any:
    node_type, node_id = _parse_id(raw, expected)
    (node,) = await node_type.resolve_nodes(info=info, node_ids=[node_id])
    return node


def _path(info: Info) -> tuple[str | int, ...]:
    return tuple(info.path.as_list())


def _list_field(entity: EntityKind, connection: Any, node_type: Any, what: str) -> Any:
    """One top-level list field; the four differ only in what they list."""

    async def resolve(
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        updated_after: datetime | None = None,
        include_deleted: bool = False,
        source: str | None = None,
        sources: list[str] | None = None,
    ) -> Any:
        args = ConnectionArgs(first, after, last, before)
        filters = ListFilters(updated_after, include_deleted, source, sources)
        page = await list_records(info.context, entity, args, filters, _path(info))
        return build_connection(
            connection, page, lambda item: node_type.from_domain(item.source, item.record), info
        )

    resolve.__annotations__["return"] = connection
    return strawberry.field(
        resolver=resolve, description=f"{what} of every selected source, interleaved."
    )


strawberry.enum(
    BreakerState,
    name="CircuitState",
    description="A source's circuit breaker: CLOSED calls the vendor; OPEN refuses calls "
    "after repeated failures (timeouts, connection failures, 5xx) until its cool-down ends; "
    "HALF_OPEN lets one probe call through, whose success closes it.",
)


@strawberry.type(description="A source's answer to a cheap authenticated call.")
class SourceHealth:
    ok: bool = strawberry.field(description="True when the source answered as expected.")
    code: str | None = strawberry.field(
        description="Error code when it did not, e.g. SOURCE_AUTH_FAILED."
    )
    message: str | None = strawberry.field(description="What went wrong, without secrets.")
    latency_ms: float = strawberry.field(description="How long the check took.")
    breaker: BreakerState = strawberry.field(
        description="The source's circuit breaker after the check."
    )


@strawberry.type(description="How a source's cache has answered since the server started.")
class SourceCacheStats:
    hits: int = strawberry.field(description="Look-ups (records, pages, groups) from the cache.")
    misses: int = strawberry.field(description="Look-ups that went to the vendor.")
    stale_served: int = strawberry.field(
        description="Misses whose vendor call failed, answered with expired data instead."
    )


@strawberry.type(description="A configured source of learning data.")
class Source:
    name: str = strawberry.field(description="The source's configured, unique name.")
    kind: str = strawberry.field(description="Vendor kind: kombo, stackone, absorb or skilljar.")

    @strawberry.field(description="Cache counters since start; null when caching is off.")
    def cache(self, info: Info) -> SourceCacheStats | None:
        connector = info.context.sources.get(self.name)
        if not isinstance(connector, CachedConnector):
            return None
        report_uncacheable()  # counters move without any entry changing
        stats = connector.stats
        return SourceCacheStats(
            hits=stats.hits, misses=stats.misses, stale_served=stats.stale_served
        )

    @strawberry.field(description="Checked live, with one cheap vendor call, when asked for.")
    async def health(self, info: Info) -> SourceHealth:
        started = time.perf_counter()
        code: str | None = None
        message: str | None = None
        connector = info.context.sources.get(self.name)
        try:
            await connector.check_health()
        except ConnectorError as error:
            code, message = error.code, error.message
        elapsed = (time.perf_counter() - started) * 1000
        return SourceHealth(
            ok=code is None,
            code=code,
            message=message,
            latency_ms=elapsed,
            breaker=connector.breaker.state,
        )


@strawberry.type
class Query:
    @strawberry.field(description="Fetch any object by its global ID.")
    async def node(self, info: Info, id: strawberry.ID) -> relay.Node | None:
        result: relay.Node | None = await _resolve_node(info, id)
        return result

    @strawberry.field(
        description=f"Fetch objects by global IDs, in order; null where one is not found "
        f"(at most {MAX_NODES})."
    )
    def nodes(self, info: Info, ids: list[strawberry.ID]) -> list[relay.Node | None]:
        if len(ids) > MAX_NODES:
            raise InvalidArgumentError(f"`ids` takes at most {MAX_NODES} IDs, got {len(ids)}")
        # Awaitables, one per ID: each fails alone, and the DataLoaders batch them all.
        awaitables: list[Awaitable[Any]] = [_resolve_node(info, raw) for raw in ids]
        return awaitables  # type: ignore[return-value]

    @strawberry.field(description="A user by global ID.")
    async def user(self, info: Info, id: strawberry.ID) -> User | None:
        result: User | None = await _resolve_node(info, id, User)
        return result

    @strawberry.field(description="A course by global ID.")
    async def course(self, info: Info, id: strawberry.ID) -> Course | None:
        result: Course | None = await _resolve_node(info, id, Course)
        return result

    @strawberry.field(
        description="Everyone with this work email (case-insensitive) in the selected "
        "sources, or all; null when no source has it."
    )
    async def person(
        self, info: Info, email: str, sources: list[str] | None = None
    ) -> Person | None:
        return await Person.find(info, email, sources)

    users: UserConnection = _list_field(EntityKind.USERS, UserConnection, User, "Users")
    courses: CourseConnection = _list_field(EntityKind.COURSES, CourseConnection, Course, "Courses")
    skills: SkillConnection = _list_field(EntityKind.SKILLS, SkillConnection, Skill, "Skills")
    progressions: ProgressionConnection = _list_field(
        EntityKind.PROGRESSIONS, ProgressionConnection, Progression, "Progressions"
    )

    @strawberry.field(description="The configured sources, in configuration order.")
    def sources(self, info: Info) -> list[Source]:
        return [Source(name=c.name, kind=c.kind) for c in info.context.sources]
