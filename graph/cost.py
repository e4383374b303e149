"""The price of a query in vendor calls, per source, worked out before it runs.

The walk follows the operation's selections (fragments included, variables applied)
with, at each level, how many objects of that level each source can return at most.
Where a field costs vendor calls (a top-level list, a relation read through a
DataLoader, ``node(id:)``, ``health``), the source's connector prices it from its own
declared :class:`~connectors.base.Pricing`: page sizes, IDs per batched call, one call
per ID where the vendor has no batch call. So a new vendor prices itself.

The figure is an upper bound of a cold request: DataLoaders and the cache often make
fewer calls (two progressions of one course share its look-up), never more, except for
what a vendor's answers alone reveal (how many pages a look-up's results fill beyond the
first, StackOne's content items).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    value_from_ast_untyped,
)
from strawberry import relay

from connectors.base import Lookup, Pricing
from connectors.model import EntityKind
from resolvers.errors import UserInputError
from resolvers.ids import split_node_id
from resolvers.paging import DEFAULT_PAGE_SIZE, MAX_BACKWARD_SCAN, MAX_PAGE_SIZE
from resolvers.sources import SourceRegistry

__all__ = ["MAX_VISITS", "QueryTooLarge", "estimate_cost"]

#: Field visits (after expanding fragments) past which a query is not priced but refused:
#: nested fragment spreads can multiply a short document into millions of fields.
MAX_VISITS = 100_000

Parents = dict[str, int]  # objects of the current level, by source

_LISTS = {
    "users": EntityKind.USERS,
    "courses": EntityKind.COURSES,
    "skills": EntityKind.SKILLS,
    "progressions": EntityKind.PROGRESSIONS,
}
#: Relations read through a DataLoader: (type, field) -> look-up, and whether the field
#: is a list (a connection whose `first` multiplies the objects below it).
_RELATIONS: dict[tuple[str, str], tuple[Lookup, bool]] = {
    ("User", "progressions"): (Lookup.PROGRESSIONS_OF_USERS, True),
    ("Person", "progressions"): (Lookup.PROGRESSIONS_OF_USERS, True),
    ("Revision", "progressions"): (Lookup.PROGRESSIONS_OF_COURSES, True),
    ("Progression", "user"): (Lookup.USERS, False),
    ("Progression", "revision"): (Lookup.COURSES, False),
    ("Progression", "course"): (Lookup.COURSES, False),
}
#: In-memory lists: no call, but `first` multiplies the objects below.
_MEMORY_LISTS = {("Course", "revisions")}
#: The look-up that finds a node of each type by ID (revisions come with their course).
_NODE_LOOKUPS = {
    "User": Lookup.USERS,
    "Course": Lookup.COURSES,
    "Revision": Lookup.COURSES,
    "Skill": Lookup.SKILLS,
    "Progression": Lookup.PROGRESSIONS,
}


class QueryTooLarge(Exception):
    """The query expands to more fields than :data:`MAX_VISITS`."""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _page_count(args: Mapping[str, Any], *, vendor_list: bool) -> int:
    """Items one connection field asks for; ``last``/``before`` on a vendor list read
    forwards from the start, up to the backward-scan bound."""
    first, last = _int(args.get("first")), _int(args.get("last"))
    backward = last is not None or (args.get("before") is not None and first is None)
    if backward and vendor_list:
        return MAX_BACKWARD_SCAN
    chosen = last if backward else first
    return max(0, min(chosen if chosen is not None else DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE))


def _names(args: Mapping[str, Any]) -> list[str] | None:
    if isinstance(args.get("source"), str):
        return [args["source"]]
    sources = args.get("sources")
    if isinstance(sources, list):
        return [name for name in sources if isinstance(name, str)]
    return None


def _node_source(raw: Any) -> tuple[str, str] | None:
    """(type name, source) of a global ID; None when it is not one (the resolver says so)."""
    if not isinstance(raw, str):
        return None
    try:
        global_id = relay.GlobalID.from_id(raw)
        source, _ = split_node_id(global_id.node_id)
    except (ValueError, UserInputError):
        return None
    return global_id.type_name, source


@dataclass
class _Walk:
    schema: GraphQLSchema
    registry: SourceRegistry
    variables: dict[str, Any]
    fragments: Mapping[str, FragmentDefinitionNode]
    cost: Counter[str] = field(default_factory=Counter)
    visits: int = 0

    def selections(
        self, selection_set: SelectionSetNode, owner: GraphQLNamedType, parents: Parents
    ) -> None:
        for node, on in self._fields(selection_set, owner, frozenset()):
            self.visits += 1
            if self.visits > MAX_VISITS:
                raise QueryTooLarge
            self.field(node, on, parents)

    def _fields(
        self, selection_set: SelectionSetNode, owner: GraphQLNamedType, seen: frozenset[str]
    ) -> Iterator[tuple[FieldNode, GraphQLNamedType]]:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                yield selection, owner
            elif isinstance(selection, InlineFragmentNode):
                on = self._type(selection.type_condition, owner)
                yield from self._fields(selection.selection_set, on, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:
                    on = self._type(fragment.type_condition, owner)
                    yield from self._fields(fragment.selection_set, on, seen | {name})

    def _type(self, condition: Any, owner: GraphQLNamedType) -> GraphQLNamedType:
        found = self.schema.get_type(condition.name.value) if condition is not None else None
        return found or owner

    def field(self, node: FieldNode, owner: GraphQLNamedType, parents: Parents) -> None:
        name = node.name.value
        fields = owner.fields if isinstance(owner, GraphQLObjectType | GraphQLInterfaceType) else {}
        definition = fields.get(name)
        if definition is None:
            return
        args = {
            arg.name.value: value_from_ast_untyped(arg.value, self.variables)
            for arg in node.arguments or ()
        }
        child_type = get_named_type(definition.type)
        below = self._price(owner.name, name, args, parents)
        if below is not None and node.selection_set is not None:
            on, children = below
            self.selections(node.selection_set, on or child_type, children)

    def _price(
        self, owner: str, name: str, args: Mapping[str, Any], parents: Parents
    ) -> tuple[GraphQLNamedType | None, Parents] | None:
        """Adds the field's calls; returns the type and the objects below it."""
        pricing = self._pricing
        if owner == "Query":
            return self._root(name, args)
        if (owner, name) in _RELATIONS:
            lookup, many = _RELATIONS[(owner, name)]
            count = _page_count(args, vendor_list=False) if many else 1
            for source, keys in parents.items():
                self.cost[source] += pricing(source).lookup(lookup, keys, keys * count)
            return None, {source: keys * count for source, keys in parents.items()}
        if (owner, name) in _MEMORY_LISTS:
            count = _page_count(args, vendor_list=False)
            return None, {source: keys * count for source, keys in parents.items()}
        if (owner, name) == ("User", "person"):
            everyone = sum(parents.values())
            for source in self.registry.names:
                self.cost[source] += pricing(source).lookup(Lookup.USERS_BY_EMAIL, everyone)
            return None, dict.fromkeys(self.registry.names, everyone)
        if (owner, name) == ("Source", "health"):
            self.cost.update(parents)  # one cheap call per source asked
            return None
        return None, parents

    def _root(
        self, name: str, args: Mapping[str, Any]
    ) -> tuple[GraphQLNamedType | None, Parents] | None:
        visible = self.registry.names
        if name in _LISTS:
            count = _page_count(args, vendor_list=True)
            wanted = _names(args)
            selected = [s for s in visible if wanted is None or s in wanted]
            for source in selected:
                self.cost[source] += self._pricing(source).page(_LISTS[name], count)
            return None, dict.fromkeys(selected, count)
        if name in ("node", "user", "course"):
            return self._nodes([args.get("id")])
        if name == "nodes":
            ids = args.get("ids")
            return self._nodes(ids if isinstance(ids, list) else [ids])
        if name == "_entities":  # the federation subgraph's
            representations = args.get("representations")
            return self._entities(representations if isinstance(representations, list) else [])
        if name == "person":
            wanted = _names(args)
            selected = [s for s in visible if wanted is None or s in wanted]
            for source in selected:
                self.cost[source] += self._pricing(source).lookup(Lookup.USERS_BY_EMAIL, 1)
            return None, dict.fromkeys(selected, 1)
        if name == "sources":
            return None, dict.fromkeys(visible, 1)
        return None, {}

    def _nodes(self, ids: list[Any]) -> tuple[GraphQLNamedType | None, Parents]:
        found: Parents = Counter()
        types: set[str] = set()
        for raw in ids:
            parsed = _node_source(raw)
            if parsed is None or parsed[1] not in self.registry.names:
                continue
            type_name, source = parsed
            lookup = _NODE_LOOKUPS.get(type_name)
            pricing = self._pricing(source)
            if lookup is not None:
                self.cost[source] += pricing.lookup(lookup, 1)
            else:  # providers are found by reading course pages
                self.cost[source] += pricing.page(EntityKind.COURSES, MAX_PAGE_SIZE)
            found[source] += 1
            types.add(type_name)
        only = self.schema.get_type(types.pop()) if len(types) == 1 else None
        return only, dict(found)

    def _entities(self, representations: list[Any]) -> tuple[GraphQLNamedType | None, Parents]:
        """Each representation as the look-up that resolves it: by ID as ``nodes``, a
        User by email as ``person`` (every source asked)."""
        found = [r for r in representations if isinstance(r, dict)]
        ids = [r["id"] for r in found if isinstance(r.get("id"), str)]
        emails = sum(
            1
            for r in found
            if r.get("__typename") == "User"
            and r.get("id") is None
            and isinstance(r.get("email"), str)
        )
        _, parents = self._nodes(ids)
        if emails:
            for source in self.registry.names:
                self.cost[source] += self._pricing(source).lookup(Lookup.USERS_BY_EMAIL, emails)
                parents[source] = parents.get(source, 0) + emails
        return None, parents

    def _pricing(self, source: str) -> Pricing:
        return self.registry.get(source).capabilities.pricing


def estimate_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any] | None,
    registry: SourceRegistry,
) -> dict[str, int]:
    """Vendor calls ``operation`` may cost at each source of ``registry``.

    Raises:
        QueryTooLarge: The operation expands to more than :data:`MAX_VISITS` fields.
    """
    root = schema.query_type
    if root is None:
        return {}
    walk = _Walk(schema, registry, dict(variables or {}), fragments)
    walk.selections(operation.selection_set, root, {})
    return {source: calls for source, calls in walk.cost.items() if calls}
