"""The GraphQL types: each a Relay Node built from a unified-model record.

Every type is made by ``from_domain(source, record)`` and keeps the record in a
``Private`` field; relations resolve through the request's DataLoaders, so a page of
fifty users with their progressions, revisions and courses costs a handful of vendor
calls. Global IDs carry the source name and the vendor's own ID (see
:mod:`resolvers.ids`), so ``node(id:)`` can route any ID to its source.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from datetime import datetime
from functools import cache
from typing import Any, Self, TypeVar, cast

import strawberry
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)
from strawberry import Private, relay
from strawberry.scalars import JSON
from strawberry.types.base import get_object_definition

from connectors import model
from resolvers.context import Context
from resolvers.cursors import scope_of
from resolvers.ids import global_id, join_node_id, revision_key, split_node_id, split_revision_key
from resolvers.loaders import RevisionRef, SourceLoaders
from resolvers.paging import ConnectionArgs, Slice, Sourced
from resolvers.paging import slice_list as paginate_list
from resolvers.people import Person as PersonRecords
from resolvers.people import find_person, person_progressions
from resolvers.providers import find_providers

__all__ = [
    "Course",
    "CourseConnection",
    "Person",
    "Progression",
    "ProgressionConnection",
    "Provider",
    "Revision",
    "RevisionConnection",
    "Skill",
    "SkillConnection",
    "User",
    "UserConnection",
    "build_connection",
]

Info = strawberry.Info[Context, None]
NodeT = TypeVar("NodeT", bound=relay.Node)
RecordT = TypeVar("RecordT")

# The unified model's enums are the GraphQL enums; registering them names them in the schema.
strawberry.enum(model.ProgressionStatus, description="Where a learner stands in a revision.")
strawberry.enum(model.ProgressionResult, description="Outcome of a graded attempt.")
strawberry.enum(model.RevisionStatus, description="Whether a revision is live.")
strawberry.enum(model.UserStatus, description="Whether an account is active.")


async def _load_nodes(
    info: Info,
    node_ids: Iterable[str],
    load: Callable[[SourceLoaders, str], Awaitable[RecordT | None]],
    build: Callable[[str, RecordT], NodeT],
) -> list[NodeT | None]:
    async def one(node_id: str) -> NodeT | None:
        source, key = split_node_id(node_id)
        record = await load(info.context.loaders.of(source), key)
        return build(source, record) if record is not None else None

    return list(await asyncio.gather(*(one(node_id) for node_id in node_ids)))


#: Relay's own description of ``Node.id``, kept so the schema reads the same.
_ID_DESCRIPTION = "The Globally Unique ID of this object"


def _global_id() -> Any:
    """``id`` as a plain field holding the encoded global ID, in place of the resolver
    ``relay.Node`` gives it: that resolver builds an ``Info``, parses arguments and a
    ``GlobalID`` for every node of a response, a third of Strawberry's per-field cost on
    a warm traversal (bench/engine.py). Same SDL (``id: ID!``), same bytes."""
    return strawberry.field(name="id", description=_ID_DESCRIPTION)


SharedT = TypeVar("SharedT", "Course", "Revision")


def _shared(info: Info, cls: type[SharedT], source: str, record: Any) -> SharedT:
    """The node of ``record`` built once per request: the progressions of a page name
    the same few revisions and courses over and over (the DataLoader hands back the same
    record each time), and building one, with its skills, costs more than the look-up."""
    key = (cls, source, id(record))  # the node keeps its record: the id stays its own
    node = info.context.nodes.get(key)
    if node is None:
        node = info.context.nodes[key] = cls.from_domain(source, record)
    return cast(SharedT, node)


@cache
def _type_name(cls: type) -> str:
    return get_object_definition(cls, strict=True).name


def _common(cls: type, source: str, record: model.Record, key: str | None = None) -> dict[str, Any]:
    node_id = join_node_id(source, key if key is not None else record.id)
    return {
        "node_id": node_id,
        "_id": global_id(_type_name(cls), node_id),
        "source": source,
        "remote_id": record.id,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "deleted_at": record.deleted_at,
        "remote_data": record.remote_data,
    }


@strawberry.interface(description="Fields every record read from a source has.")
class SourceRecord:
    source: str = strawberry.field(description="Name of the configured source it came from.")
    remote_id: str = strawberry.field(description="The vendor's own ID of this record.")
    created_at: datetime | None = strawberry.field(description="Created at the vendor.")
    updated_at: datetime | None = strawberry.field(description="Last changed at the vendor.")
    deleted_at: datetime | None = strawberry.field(
        description="Set when the vendor reports the record deleted."
    )
    remote_data: JSON | None = strawberry.field(
        description="Vendor fields with no place in the unified model, verbatim."
    )


@strawberry.type(description="A skill a course teaches.")
class Skill(relay.Node, SourceRecord):
    node_id: relay.NodeID[str]
    _id: strawberry.ID = _global_id()
    name: str | None = strawberry.field(description="The skill's name.")

    @classmethod
    def from_domain(cls, source: str, record: model.Skill) -> Self:
        return cls(name=record.name, **_common(cls, source, record))

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await _load_nodes(
            info, node_ids, lambda loaders, key: loaders.skills.load(key), cls.from_domain
        )


@strawberry.type(description="Who publishes a course, where the vendor says.")
class Provider(relay.Node, SourceRecord):
    node_id: relay.NodeID[str]
    _id: strawberry.ID = _global_id()
    name: str | None = strawberry.field(description="The provider's name.")

    @classmethod
    def from_domain(cls, source: str, record: model.Provider) -> Self:
        return cls(name=record.name, **_common(cls, source, record))

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        wanted = [split_node_id(node_id) for node_id in node_ids]
        found = await find_providers(info.context, wanted)
        return [
            cls.from_domain(source, found[(source, key)]) if (source, key) in found else None
            for source, key in wanted
        ]


@strawberry.type(description="A course, described as its current revision describes it.")
class Course(relay.Node, SourceRecord):
    node_id: relay.NodeID[str]
    _id: strawberry.ID = _global_id()
    title: str | None = strawberry.field(description="Title of the current revision.")
    description: str | None = strawberry.field(description="Description of the current revision.")
    url: str | None = strawberry.field(description="Link to the course in the LMS.")
    provider: Provider | None = strawberry.field(description="Publisher, where the vendor has one.")
    skills: list[Skill] = strawberry.field(description="Skills of the current revision.")
    record: Private[model.Course]

    @classmethod
    def from_domain(cls, source: str, record: model.Course) -> Self:
        return cls(
            title=record.title,
            description=record.description,
            url=record.url,
            provider=Provider.from_domain(source, record.provider) if record.provider else None,
            skills=[Skill.from_domain(source, skill) for skill in record.skills],
            record=record,
            **_common(cls, source, record),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await _load_nodes(
            info, node_ids, lambda loaders, key: loaders.courses.load(key), cls.from_domain
        )

    @strawberry.field(
        description="Every revision (version) of the course, oldest first. Where the vendor "
        "lists no versions (Absorb), those its enrolments name, or the course as its own "
        "single revision; null if reading them failed."
    )
    async def revisions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        include_deleted: bool = False,
    ) -> RevisionConnection | None:
        args = ConnectionArgs(first, after, last, before)
        scope = scope_of("Course.revisions", self.node_id, include_deleted)
        args.verify(scope)
        everything = await info.context.loaders.of(self.source).revisions_of(self.record)
        revisions = [r for r in everything if include_deleted or r.deleted_at is None]
        page = paginate_list(revisions, args, scope)
        return build_connection(
            RevisionConnection, page, lambda r: Revision.from_domain(self.source, r), info
        )

    @strawberry.field(
        description="Learners' progressions on any revision of this course, optionally of "
        "some statuses only; null if its source failed."
    )
    async def progressions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        status: list[model.ProgressionStatus] | None = None,
    ) -> ProgressionConnection | None:
        args, scope = _progression_args(first, after, last, before, status, self.node_id)
        loaders = info.context.loaders.of(self.source)
        everyone = await loaders.progressions_of_course.load(self.remote_id)
        return _progression_connection(info, self.source, everyone, args, status, scope)


@strawberry.type(description="One version of a course; learners progress through a revision.")
class Revision(relay.Node, SourceRecord):
    node_id: relay.NodeID[str]
    _id: strawberry.ID = _global_id()
    title: str | None = strawberry.field(description="The revision's title.")
    description: str | None = strawberry.field(description="The revision's description.")
    status: model.RevisionStatus | None = strawberry.field(
        description="Whether the revision is live."
    )
    url: str | None = strawberry.field(description="Link to the revision in the LMS.")
    skills: list[Skill] = strawberry.field(description="Skills this revision teaches.")
    record: Private[model.Revision]

    @classmethod
    def from_domain(cls, source: str, record: model.Revision) -> Self:
        return cls(
            title=record.title,
            description=record.description,
            status=record.status,
            url=record.url,
            skills=[Skill.from_domain(source, skill) for skill in record.skills],
            record=record,
            **_common(cls, source, record, key=revision_key(record.course_id, record.id)),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await _load_nodes(
            info,
            node_ids,
            lambda loaders, key: loaders.revisions.load(split_revision_key(key)),
            cls.from_domain,
        )

    @strawberry.field(description="The course this revision belongs to.")
    async def course(self, info: Info) -> Course | None:
        course = await info.context.loaders.of(self.source).courses.load(self.record.course_id)
        return _shared(info, Course, self.source, course) if course else None

    @strawberry.field(
        description="Learners' progressions on this revision; null if its source failed."
    )
    async def progressions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        status: list[model.ProgressionStatus] | None = None,
    ) -> ProgressionConnection | None:
        args, scope = _progression_args(first, after, last, before, status, self.node_id)
        loaders = info.context.loaders.of(self.source)
        everyone = await loaders.progressions_of_course.load(self.record.course_id)
        mine = [p for p in everyone if p.revision_id == self.record.id]
        return _progression_connection(info, self.source, mine, args, status, scope)


@strawberry.type(description="A learner.")
class User(relay.Node, SourceRecord):
    node_id: relay.NodeID[str]
    _id: strawberry.ID = _global_id()
    first_name: str | None = strawberry.field(description="Given name.")
    last_name: str | None = strawberry.field(description="Family name.")
    email: str | None = strawberry.field(description="Work email address.")
    status: model.UserStatus | None = strawberry.field(description="Whether the account is active.")

    @classmethod
    def from_domain(cls, source: str, record: model.User) -> Self:
        return cls(
            first_name=record.first_name,
            last_name=record.last_name,
            email=record.email,
            status=record.status,
            **_common(cls, source, record),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await _load_nodes(
            info, node_ids, lambda loaders, key: loaders.users.load(key), cls.from_domain
        )

    @strawberry.field(
        description="This learner's progressions, optionally of some statuses only; "
        "null if its source failed."
    )
    async def progressions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        status: list[model.ProgressionStatus] | None = None,
    ) -> ProgressionConnection | None:
        args, scope = _progression_args(first, after, last, before, status, self.node_id)
        loaders = info.context.loaders.of(self.source)
        progressions = await loaders.progressions_of_user.load(self.remote_id)
        return _progression_connection(info, self.source, progressions, args, status, scope)

    @strawberry.field(
        description="Everyone with this user's work email in any source, this user included; "
        "null without an email."
    )
    async def person(self, info: Info) -> Person | None:
        if not self.email:
            return None
        return await Person.find(info, self.email, None)


@strawberry.type(
    description="One learner across sources: every account with the same work email "
    "(compared case-insensitively), with their progressions everywhere."
)
class Person:
    records: Private[PersonRecords]

    @classmethod
    async def find(cls, info: Info, email: str, sources: list[str] | None) -> Person | None:
        found = await find_person(info.context, email, sources, tuple(info.path.as_list()))
        return cls(records=found) if found is not None else None

    @strawberry.field(description="The work email, lower-cased.")
    def email(self) -> str:
        return self.records.email

    @strawberry.field(description="The person's accounts, in source configuration order.")
    def users(self) -> list[User]:
        return [User.from_domain(user.source, user.record) for user in self.records.users]

    @strawberry.field(description="Names of the sources this person has an account in.")
    def sources(self) -> list[str]:
        return list(dict.fromkeys(user.source for user in self.records.users))

    @strawberry.field(
        description="The progressions of every account, source by source; a source that "
        "fails is named in `errors` and the others are served."
    )
    async def progressions(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        status: list[model.ProgressionStatus] | None = None,
    ) -> ProgressionConnection:
        args = ConnectionArgs(first, after, last, before)
        wanted = set(status) if status else None
        scope = scope_of("person-progressions", self.records.email, sorted(wanted or ()))
        args.verify(scope)
        found = await person_progressions(info.context, self.records, tuple(info.path.as_list()))
        kept = [item for item in found if wanted is None or item.record.status in wanted]
        page: Slice[Sourced[model.Progression]] = paginate_list(kept, args, scope)
        return build_connection(
            ProgressionConnection,
            page,
            lambda item: Progression.from_domain(item.source, item.record),
            info,
        )


@strawberry.type(
    description="A learner's enrolment in, progress through or completion of a revision."
)
class Progression(relay.Node, SourceRecord):
    node_id: relay.NodeID[str]
    _id: strawberry.ID = _global_id()
    status: model.ProgressionStatus | None = strawberry.field(description="Unified status.")
    source_status: str | None = strawberry.field(description="The vendor's own status value.")
    enrolled_at: datetime | None = strawberry.field(description="When the learner enrolled.")
    completed_at: datetime | None = strawberry.field(description="When the learner completed.")
    due_at: datetime | None = strawberry.field(description="When completion is due.")
    progress_percent: float | None = strawberry.field(description="Progress, 0 to 100.")
    score: float | None = strawberry.field(description="Score in percent.")
    time_spent_seconds: int | None = strawberry.field(description="Time spent learning.")
    result: model.ProgressionResult | None = strawberry.field(
        description="Pass or fail, if graded."
    )
    record: Private[model.Progression]

    @classmethod
    def from_domain(cls, source: str, record: model.Progression) -> Self:
        return cls(
            status=record.status,
            source_status=record.source_status,
            enrolled_at=record.enrolled_at,
            completed_at=record.completed_at,
            due_at=record.due_at,
            progress_percent=record.progress_percent,
            score=record.score,
            time_spent_seconds=record.time_spent_seconds,
            result=record.result,
            record=record,
            **_common(cls, source, record),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Self | None]:
        return await _load_nodes(
            info, node_ids, lambda loaders, key: loaders.progressions.load(key), cls.from_domain
        )

    @strawberry.field(description="The learner.")
    async def user(self, info: Info) -> User | None:
        user = await info.context.loaders.of(self.source).users.load(self.record.user_id)
        return User.from_domain(self.source, user) if user else None

    @strawberry.field(description="The course revision progressed through.")
    async def revision(self, info: Info) -> Revision | None:
        course_id, revision_id = self.record.course_id, self.record.revision_id
        if course_id is None or revision_id is None:
            return None
        loader = info.context.loaders.of(self.source).revisions
        revision = await loader.load(RevisionRef(course_id, revision_id))
        return _shared(info, Revision, self.source, revision) if revision else None

    @strawberry.field(description="The course of that revision.")
    async def course(self, info: Info) -> Course | None:
        if self.record.course_id is None:
            return None
        course = await info.context.loaders.of(self.source).courses.load(self.record.course_id)
        return _shared(info, Course, self.source, course) if course else None


def _progression_args(
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
    status: list[model.ProgressionStatus] | None,
    owner: str,
) -> tuple[ConnectionArgs, str]:
    """The arguments of an owner's progressions and their cursor scope, checked before
    the progressions are read: a bad cursor costs no vendor call."""
    args = ConnectionArgs(first, after, last, before)
    scope = scope_of("progressions", owner, sorted(set(status)) if status else None)
    args.verify(scope)
    return args, scope


def _progression_connection(
    info: Info,
    source: str,
    progressions: Sequence[model.Progression],
    args: ConnectionArgs,
    status: list[model.ProgressionStatus] | None,
    scope: str,
) -> ProgressionConnection:
    wanted = set(status) if status else None
    kept = [p for p in progressions if wanted is None or p.status in wanted]
    page = paginate_list(kept, args, scope)
    return build_connection(
        ProgressionConnection, page, lambda p: Progression.from_domain(source, p), info
    )


@strawberry.type(description="A page of a list, with the whole list's size where known.")
class CountedConnection(relay.Connection[NodeT]):
    total_count: int | None = strawberry.field(
        description="Items in the whole list; null where a source cannot tell."
    )


@strawberry.type(description="A page of users.")
class UserConnection(CountedConnection[User]):
    pass


@strawberry.type(description="A page of courses.")
class CourseConnection(CountedConnection[Course]):
    pass


@strawberry.type(description="A page of revisions.")
class RevisionConnection(CountedConnection[Revision]):
    pass


@strawberry.type(description="A page of skills.")
class SkillConnection(CountedConnection[Skill]):
    pass


@strawberry.type(description="A page of progressions.")
class ProgressionConnection(CountedConnection[Progression]):
    pass


ConnectionT = TypeVar(
    "ConnectionT",
    UserConnection,
    CourseConnection,
    RevisionConnection,
    SkillConnection,
    ProgressionConnection,
)


def build_connection(
    cls: type[ConnectionT],
    page: Slice[RecordT],
    build: Callable[[RecordT], Any],
    info: Info,
) -> ConnectionT:
    """The connection of ``page``; cursors are encoded only where the operation selects
    them (an unselected field's value is never read, so it holds a placeholder)."""
    edge_cursors, page_cursors = selected_cursors(info)
    if edge_cursors:
        edges = [relay.Edge(cursor=cursor, node=build(item)) for cursor, item in page.edges]
    else:
        edges = [relay.Edge(cursor="", node=build(item)) for item in page.items]
    start: str | None = None
    end = page.resume_cursor if not edges else None
    if edges and page_cursors:
        start = edges[0].cursor if edge_cursors else page.cursor(0)
        end = edges[-1].cursor if edge_cursors else page.cursor(-1)
    return cls(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=page.has_next_page,
            has_previous_page=page.has_previous_page,
            start_cursor=start,
            end_cursor=end,
        ),
        total_count=page.total_count,
    )


def selected_cursors(info: Info) -> tuple[bool, bool]:
    """Whether the connection field being resolved selects its edges' ``cursor``, and
    ``pageInfo``'s ``startCursor`` or ``endCursor``: through fragments and aliases, and
    whatever ``@skip``/``@include`` say (a cursor encoded in vain is only wasted work)."""
    # Strawberry's public `info.selected_fields` converts the whole subtree into its own
    # objects, once per connection resolved; two levels of graphql-core's nodes suffice.
    raw = info._raw_info
    edge = page = False
    for child in _subfields(raw.field_nodes, raw.fragments):
        if child.name.value == "edges":
            names = {f.name.value for f in _subfields([child], raw.fragments)}
            edge = edge or "cursor" in names
        elif child.name.value == "pageInfo":
            names = {f.name.value for f in _subfields([child], raw.fragments)}
            page = page or bool(names & {"startCursor", "endCursor"})
    return edge, page


def _subfields(
    nodes: Iterable[FieldNode], fragments: dict[str, FragmentDefinitionNode]
) -> Iterator[FieldNode]:
    for node in nodes:
        if node.selection_set is not None:
            yield from _flatten(node.selection_set, fragments)


def _flatten(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> Iterator[FieldNode]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection
        elif isinstance(selection, InlineFragmentNode):
            yield from _flatten(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None:  # validation refused unknown and cyclic spreads
                yield from _flatten(fragment.selection_set, fragments)
