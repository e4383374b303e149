"""The parts of the Apollo Federation v2 subgraph (``[server] federation = true``).

Course, Revision, Skill, User, Progression and Provider are entities keyed by their
global ``id`` (the Relay ID this API issues everywhere); a User is also keyed by
``email``. The keys live on copies of the types' Strawberry definitions that only the
subgraph's schema is built from, so the plain schema (``schema.graphql``) has no
federation directive at all: Strawberry reads a type's directives from its definition
when it builds and when it prints a schema, and both schemas convert the same classes.

``_entities`` is ours rather than Strawberry's generic one (which calls a
``resolve_reference`` per representation): each representation is resolved like
``node(id:)``, through the request's DataLoaders and its client's sources, so N
representations cost the batched calls of N node look-ups; a representation we cannot
read answers null with an input error at its index, one that names nothing answers null.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, cast

import strawberry
from graphql import FieldNode, GraphQLError, ValidationRule
from strawberry import UNSET, relay
from strawberry.federation.schema import FederationAny
from strawberry.federation.schema_directives import Key, Shareable
from strawberry.federation.types import FieldSet
from strawberry.types.base import StrawberryObjectDefinition

from graph.limits import INTROSPECTION_CODE
from graph.query import Query, _resolve_node
from graph.types import Course, Progression, Provider, Revision, Skill, User
from resolvers.context import Context
from resolvers.errors import InvalidArgumentError
from resolvers.people import find_person

if TYPE_CHECKING:
    from graph.schema import FederatedSchema

__all__ = [
    "ENTITY_KEYS",
    "FEDERATION_VERSION",
    "FederatedQuery",
    "NoServiceField",
    "check_keyed",
    "subgraph_definitions",
]

Info = strawberry.Info[Context, None]

#: The oldest Federation 2 spec with everything the subgraph uses (``@key``,
#: ``@shareable``), so routers and composition tools of any 2.x release accept it; a
#: supergraph composes at the highest version among its subgraphs anyway.
FEDERATION_VERSION = "2.0"
#: Each entity type and its ``@key`` field sets.
ENTITY_KEYS: dict[type, tuple[str, ...]] = {
    Course: ("id",),
    Progression: ("id",),
    Provider: ("id",),
    Revision: ("id",),
    Skill: ("id",),
    User: ("id", "email"),
}
_ENTITIES = {cls.__name__: cls for cls in ENTITY_KEYS}
#: Value types every Relay subgraph defines: ``@shareable`` lets them compose beside
#: another subgraph's identical ``PageInfo`` (that one must be shareable too).
_SHAREABLE = (relay.PageInfo,)

Entity = Annotated[
    Course | Progression | Provider | Revision | Skill | User,
    strawberry.union("_Entity", description="Every type another subgraph can reference."),
]


def _with_directives(cls: type, *directives: object) -> StrawberryObjectDefinition:
    definition: StrawberryObjectDefinition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    return dataclasses.replace(
        definition,
        directives=[*(definition.directives or ()), *directives],
        # Strawberry tells a union member by its definition's identity, which a copy
        # lacks, and then by `is_type_of`, whose default accepts any object of the
        # type's interfaces: a User would answer to `... on Course`.
        is_type_of=lambda obj, _info: isinstance(obj, cls),
    )


def subgraph_definitions() -> list[StrawberryObjectDefinition]:
    """The entity and shareable types as the subgraph declares them.

    Passed as the schema's ``types``, they are converted before any field that returns
    the plain classes (fields convert lazily), so the schema keeps these definitions;
    :func:`check_keyed` makes sure it did.
    """
    keyed = [
        _with_directives(cls, *(Key(fields=FieldSet(fields), resolvable=UNSET) for fields in keys))
        for cls, keys in ENTITY_KEYS.items()
    ]
    return keyed + [_with_directives(cls, Shareable()) for cls in _SHAREABLE]


def check_keyed(type_map: Mapping[str, Any]) -> None:
    """Fails at start-up if a Strawberry upgrade stopped the keyed definitions winning."""
    for name, cls in _ENTITIES.items():
        directives = type_map[name].definition.directives or ()
        keys = [d.fields for d in directives if isinstance(d, Key)]
        if keys != list(ENTITY_KEYS[cls]):
            raise RuntimeError(f"the subgraph schema lost the @key directives of {name}")


def _representation_error(index: int, problem: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"representation {index} {problem}")


async def _user_by_email(info: Info, email: str, index: int) -> User | None:
    """The first account with ``email``, in source configuration order (then in the
    vendor's order): a person may have accounts in several sources, and ``User.person``
    reaches the others."""
    path = (*info.path.as_list(), index)
    person = await find_person(info.context, email, None, path)
    if person is None:
        return None
    first = person.users[0]
    return User.from_domain(first.source, first.record)


async def _entity(info: Info, index: int, representation: Any) -> Any:
    if not isinstance(representation, dict):
        raise _representation_error(index, "is not an object")
    entity = _ENTITIES.get(representation.get("__typename"))  # type: ignore[arg-type]
    if entity is None:
        names = ", ".join(_ENTITIES)
        raise _representation_error(index, f"needs a `__typename` of {names}")
    key = representation.get("id")
    if isinstance(key, str):
        return await _resolve_node(info, key, entity)
    email = representation.get("email")
    if entity is User and key is None and isinstance(email, str):
        return await _user_by_email(info, email, index)
    wanted = "`id` or `email`" if entity is User else "`id`"
    raise _representation_error(index, f"needs {wanted} as a string")


@strawberry.type(name="Query")
class FederatedQuery(Query):
    @strawberry.field(
        name="_entities",
        description="The entities other subgraphs reference, in the order of "
        "`representations` (at most `[limits] max_representations`); null where one is "
        "not found.",
    )
    def entities(self, info: Info, representations: list[FederationAny]) -> list[Entity | None]:
        # The cost limit prices each representation besides, before this runs.
        bound = cast("FederatedSchema", info.schema).max_representations
        if len(representations) > bound:
            raise InvalidArgumentError(
                f"`representations` takes at most {bound}, got {len(representations)}"
            )
        # Awaitables, one per representation: each fails alone, the DataLoaders batch them.
        awaitables: list[Awaitable[Any]] = [
            _entity(info, index, representation)
            for index, representation in enumerate(representations)
        ]
        return awaitables  # type: ignore[return-value]


class NoServiceField(ValidationRule):
    """``_service { sdl }`` is the whole schema: refused where introspection is."""

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        parent = self.context.get_parent_type()
        if node.name.value == "_service" and parent is not None and parent.name == "Query":
            self.report_error(
                GraphQLError(
                    "`_service` is the schema, and introspection is disabled on this "
                    "server: compose from `lms-graph export-schema --federation`",
                    node,
                    extensions={"code": INTROSPECTION_CODE},
                )
            )
