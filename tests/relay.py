"""The Relay cursor-connections spec's pagination algorithm, written out from the spec
(https://relay.dev/graphql/connections.htm, "Pagination algorithm") over a whole list in
memory: what every paged field of ours must agree with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

__all__ = ["relay_reference"]

T = TypeVar("T")


def relay_reference(
    ids: Sequence[T],
    after: int | None,
    before: int | None,
    first: int | None,
    last: int | None,
) -> tuple[list[T], bool, bool]:
    """EdgesToReturn (after ApplyCursorsToEdges), HasNextPage and HasPreviousPage, with
    the cursors given as indices into ``ids``. Where the spec lets a server answer
    "true if it can tell efficiently", we can: a cursor's item exists."""
    edges = list(enumerate(ids))
    if after is not None:
        edges = [(i, item) for i, item in edges if i > after]
    if before is not None:
        edges = [(i, item) for i, item in edges if i < before]
    returned = [item for _, item in edges]
    if first is not None and len(returned) > first:
        returned = returned[:first]
    if last is not None and len(returned) > last:
        returned = returned[len(returned) - last :]
    has_previous = len(edges) > last if last is not None else after is not None
    has_next = len(edges) > first if first is not None else before is not None
    return returned, has_next, has_previous
