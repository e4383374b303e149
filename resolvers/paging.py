"""Relay pagination over vendor pages: one list per source, merged into one connection.

Each source is read from a *position*: the vendor token of a page, the page size it
was fetched with and how many of its items were already served. A merged cursor holds
the position of every source plus whose turn is next, so sources are interleaved
round-robin and paging forward never repeats or skips an item, whatever each vendor's
pagination looks like. Page sizes stay fixed along one chain of cursors because a
vendor token is only meaningful with the size it was issued for.

``last``/``before`` walk forward from the start (vendors page forwards only), bounded by
:data:`MAX_BACKWARD_SCAN` items.

``totalCount`` is the sum of every source's own total, and null as soon as one source
cannot count (or failed): a partial sum would look like a real one. The cursor keeps
each source's last known total, so a source read to its end still counts on later pages.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from connectors.base import Page
from connectors.errors import ConnectorError
from connectors.model import Record
from resolvers.cursors import decode_cursor, encode_cursor
from resolvers.errors import InvalidArgumentError, InvalidCursorError

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_BACKWARD_SCAN",
    "MAX_PAGE_SIZE",
    "ConnectionArgs",
    "Slice",
    "SourceFailure",
    "SourceList",
    "Sourced",
    "gather_sources",
    "merged_slice",
    "slice_list",
]

T = TypeVar("T")
RecordT = TypeVar("RecordT", bound=Record)

MAX_PAGE_SIZE = 250
DEFAULT_PAGE_SIZE = 50
MAX_BACKWARD_SCAN = 5000
MIN_VENDOR_PAGE = 25
MAX_PAGES_PER_READ = 50  # fewer, fuller vendor pages when clients page in small steps

PageFetcher = Callable[[str | None, int], Awaitable[Page[RecordT]]]


@dataclass(frozen=True, slots=True)
class ConnectionArgs:
    """Validated Relay arguments."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None

    def __post_init__(self) -> None:
        for name in ("first", "last"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise InvalidArgumentError(f"`{name}` must not be negative")
            if value is not None and value > MAX_PAGE_SIZE:
                raise InvalidArgumentError(f"`{name}` must be at most {MAX_PAGE_SIZE}, got {value}")
        if self.first is not None and self.last is not None:
            raise InvalidArgumentError("pass either `first` or `last`, not both")

    @property
    def backward(self) -> bool:
        return self.last is not None or (self.before is not None and self.first is None)

    @property
    def count(self) -> int:
        chosen = self.last if self.backward else self.first
        return chosen if chosen is not None else DEFAULT_PAGE_SIZE


@dataclass(frozen=True, slots=True)
class Sourced(Generic[T]):
    """A record together with the configured source it came from."""

    source: str
    record: T


@dataclass(frozen=True, slots=True)
class SourceFailure:
    source: str
    error: ConnectorError


@dataclass(slots=True)
class Slice(Generic[T]):
    """One page of a connection, ready to be rendered."""

    edges: list[tuple[str, T]]
    has_next_page: bool
    has_previous_page: bool
    total_count: int | None
    failures: list[SourceFailure] = field(default_factory=list)


# -- in-memory lists -------------------------------------------------------------------


def slice_list(items: Sequence[T], args: ConnectionArgs, scope: str) -> Slice[T]:
    """Paginate a list that is wholly in memory; cursors are offsets."""

    def offset_of(cursor: str) -> int:
        offset = decode_cursor(cursor, scope)
        if not isinstance(offset, int) or not 0 <= offset < len(items):
            raise InvalidCursorError("cursor points outside this list")
        return offset

    start = offset_of(args.after) + 1 if args.after is not None else 0
    end = offset_of(args.before) if args.before is not None else len(items)
    end = max(start, end)
    if args.backward:
        start = max(start, end - args.count)
    else:
        end = min(end, start + args.count)
    edges = [(encode_cursor(scope, i), items[i]) for i in range(start, end)]
    return Slice(
        edges=edges,
        has_next_page=end < len(items),
        has_previous_page=start > 0,
        total_count=len(items),
    )


# -- lists read from vendors, one or many sources ----------------------------------------


@dataclass(frozen=True, slots=True)
class SourceList(Generic[RecordT]):
    """How to read one source's list: its name, a page fetcher and its limits."""

    source: str
    fetch: PageFetcher[RecordT]
    max_page_size: int


Position = list[Any] | None  # [token, size, skip]; None once the source is exhausted


@dataclass(slots=True)
class _State:
    """Every source's position, whose turn is next, the chain's vendor page size and
    each source's total as its vendor last reported it (None: unknown)."""

    positions: dict[str, Position]
    size: int
    turn: int = 0
    totals: dict[str, int | None] = field(default_factory=dict)

    def encode(self) -> Any:
        return {"pos": self.positions, "size": self.size, "turn": self.turn, "tot": self.totals}

    def copy(self) -> _State:
        return _State(dict(self.positions), self.size, self.turn, dict(self.totals))

    def total(self) -> int | None:
        if any(self.totals.get(source) is None for source in self.positions):
            return None
        return sum(total for total in self.totals.values() if total is not None)


def _start_state(
    lists: Sequence[SourceList[Any]], count: int, like: _State | None = None
) -> _State:
    """The state before the first item; with ``like``, that cursor chain's page size.

    Positions are only comparable within one chain of cursors, so a backward scan
    towards a ``before`` cursor must walk with the page size that cursor was made with.
    """
    size = like.size if like is not None else max(count, MIN_VENDOR_PAGE)
    return _State({item.source: [None, min(size, item.max_page_size), 0] for item in lists}, size)


def _decode_state(cursor: str, scope: str, lists: Sequence[SourceList[Any]]) -> _State:
    data = decode_cursor(cursor, scope)
    try:
        positions, size, turn = data["pos"], int(data["size"]), int(data["turn"])
        totals = {name: None if n is None else int(n) for name, n in data.get("tot", {}).items()}
        if set(positions) != {item.source for item in lists}:
            raise InvalidCursorError("cursor names other sources than this list")
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise InvalidCursorError("cursor is malformed")
        for position in positions.values():
            if position is not None:
                token, page_size, skip = position
                if not (token is None or isinstance(token, str)) or page_size < 1 or skip < 0:
                    raise InvalidCursorError("cursor is malformed")
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, InvalidCursorError):
            raise
        raise InvalidCursorError("cursor is malformed") from None
    return _State(dict(positions), size, turn, totals)


@dataclass(slots=True)
class _Read(Generic[RecordT]):
    """What one source gave: items with the position after each, where it stopped, and
    the total of the last page read (``counted`` False when no page was read)."""

    taken: list[tuple[RecordT, Position]]
    end: Position
    total: int | None = None
    counted: bool = False


async def gather_sources(
    calls: Sequence[tuple[str, Awaitable[T]]],
) -> tuple[list[tuple[str, T]], list[SourceFailure]]:
    """Await ``(source, call)`` pairs together: the answers, in order, and the sources
    that failed with a ConnectorError (anything else is a bug and is raised)."""
    results = await asyncio.gather(*(call for _, call in calls), return_exceptions=True)
    answered: list[tuple[str, T]] = []
    failures: list[SourceFailure] = []
    for (source, _), result in zip(calls, results, strict=True):
        if isinstance(result, ConnectorError):
            failures.append(SourceFailure(source, result))
        elif isinstance(result, BaseException):
            raise result
        else:
            answered.append((source, result))
    return answered, failures


async def _read_source(item: SourceList[RecordT], position: Position, count: int) -> _Read[RecordT]:
    """Up to ``count`` items from ``position`` on, each with the position just after it,
    and the position after everything read (past trailing empty pages)."""
    read = _Read[RecordT]([], position)
    taken = read.taken
    pages = 0
    while position is not None and len(taken) < count:
        pages += 1
        if pages > MAX_PAGES_PER_READ:
            break  # a vendor sending empty pages with fresh tokens must not hang us
        token, size, skip = position
        page = await item.fetch(token, size)
        read.total, read.counted = page.total_count, True
        records = list(page.items)
        next_page: Position = [page.next_token, size, 0] if page.next_token else None
        position = next_page
        for index in range(skip, len(records)):
            after = [token, size, index + 1] if index + 1 < len(records) else next_page
            taken.append((records[index], after))
            if len(taken) == count:
                position = after
                break
    read.end = position
    return read


async def _forward(
    lists: Sequence[SourceList[RecordT]], state: _State, count: int, scope: str
) -> tuple[list[tuple[str, Sourced[RecordT]]], _State, list[SourceFailure]]:
    """The next ``count`` merged items after ``state``, round-robin over the sources."""
    reads, failures = await gather_sources(
        [
            (item.source, _read_source(item, position, count))
            for item in lists
            if (position := state.positions[item.source]) is not None
        ]
    )
    state = state.copy()
    buffers: dict[str, deque[tuple[RecordT, Position]]] = {}
    ends: dict[str, Position] = {}
    for source, read in reads:
        buffers[source], ends[source] = deque(read.taken), read.end
        if read.counted:
            state.totals[source] = read.total
    for failure in failures:
        state.totals[failure.source] = None  # its count is unknown
    edges: list[tuple[str, Sourced[RecordT]]] = []
    names = [item.source for item in lists]
    while len(edges) < count and any(buffers.values()):
        name = names[state.turn % len(names)]
        state.turn = (state.turn + 1) % len(names)
        if buffers.get(name):
            record, after = buffers[name].popleft()
            state.positions[name] = after
            edges.append((encode_cursor(scope, state.encode()), Sourced(name, record)))
    for name, buffer in buffers.items():
        if not buffer:  # all it read was served: skip the empty pages it read past, too
            state.positions[name] = ends[name]
    return edges, state, failures


async def merged_slice(
    lists: Sequence[SourceList[RecordT]], args: ConnectionArgs, scope: str
) -> Slice[Sourced[RecordT]]:
    """One page of the merged list of every source in ``lists``."""
    if not lists:
        return Slice([], has_next_page=False, has_previous_page=False, total_count=0)
    if args.after is not None:
        state = _decode_state(args.after, scope, lists)
    elif args.backward and args.before is not None:
        state = _start_state(lists, args.count, like=_decode_state(args.before, scope, lists))
    else:
        state = _start_state(lists, args.count)
    if not args.backward:
        edges, end, failures = await _forward(lists, state, args.count, scope)
        return Slice(
            edges=edges,
            has_next_page=any(pos is not None for pos in end.positions.values()),
            has_previous_page=args.after is not None,
            total_count=end.total(),
            failures=failures,
        )
    return await _backward(lists, state, args, scope)


async def _backward(
    lists: Sequence[SourceList[RecordT]], state: _State, args: ConnectionArgs, scope: str
) -> Slice[Sourced[RecordT]]:
    stop = args.before
    window: deque[tuple[str, Sourced[RecordT]]] = deque(maxlen=args.count + 1)
    failures: list[SourceFailure] = []
    scanned = 0
    while True:
        edges, state, failed = await _forward(lists, state, MAX_PAGE_SIZE, scope)
        failures.extend(failed)
        cursors = [cursor for cursor, _ in edges]
        if stop is not None and stop in cursors:
            window.extend(edges[: cursors.index(stop)])
            break
        window.extend(edges)
        scanned += len(edges)
        if not edges or all(position is None for position in state.positions.values()):
            if stop is not None:
                raise InvalidCursorError("`before` cursor is not in this list (any more)")
            break
        if scanned > MAX_BACKWARD_SCAN:
            raise InvalidArgumentError(
                f"`last`/`before` would scan more than {MAX_BACKWARD_SCAN} items of this list; "
                "page forwards with `first`/`after` instead"
            )
    items = list(window)
    return Slice(
        edges=items[len(items) - args.count :] if args.count else [],
        has_next_page=stop is not None,
        has_previous_page=len(items) > args.count,
        total_count=state.total(),
        failures=failures,
    )
