"""Relay pagination over vendor pages: one list per source, merged into one connection.

Each source is read from a *position*: the vendor token of a page, the page size it
was fetched with and how many of its items were already served. A merged cursor holds
the position of every source plus whose turn is next, so sources are interleaved
round-robin and paging forward never repeats or skips an item, whatever each vendor's
pagination looks like. Page sizes stay fixed along one chain of cursors because a
vendor token is only meaningful with the size it was issued for.

A page is what the Relay spec's pagination algorithm gives over the whole merged list
(https://relay.dev/graphql/connections.htm): the window after ``after`` and before
``before``, its first ``first`` items, then the last ``last`` of those. Cursors count the
items served per source, which places them in the merged list whatever chain they came
from, so ``before`` caps each source's read. ``last`` without ``first`` scans the window
forwards (vendors page forwards only), bounded by :data:`MAX_BACKWARD_SCAN` items.

A source that fails keeps its position in the cursors, so paging on retries it; a page
left empty by failed sources carries the cursor it started from to resume with.

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
from resolvers.cursors import check_cursor_length, decode_cursor, encode_cursor
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
    """Validated Relay arguments.

    Every combination the Relay spec allows is taken, ``first`` and ``last`` together
    included. Without either, a page holds :data:`DEFAULT_PAGE_SIZE` items: the last ones
    before ``before`` when only ``before`` is given, else the first ones.
    """

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
        for name in ("after", "before"):
            check_cursor_length(getattr(self, name), name)

    def verify(self, scope: str) -> None:
        """Refuse a cursor that is not one of ``scope``'s, before anything is read."""
        for cursor in (self.after, self.before):
            if cursor is not None:
                decode_cursor(cursor, scope)

    @property
    def head(self) -> int | None:
        """How many items to keep from the start of the window (Relay's ``first``)."""
        if self.first is None and self.last is None and self.tail is None:
            return DEFAULT_PAGE_SIZE
        return self.first

    @property
    def tail(self) -> int | None:
        """How many items to keep from the end of what ``head`` kept (Relay's ``last``)."""
        if self.first is None and self.last is None and self.before is not None:
            return DEFAULT_PAGE_SIZE if self.after is None else None
        return self.last


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
    """One page of a connection, ready to be rendered.

    Each item keeps the position its cursor encodes, not the cursor: encoding (JSON,
    HMAC, base64) is most of a cursor's cost, and most responses select no cursor or
    only ``endCursor``. :meth:`cursor` encodes one when it is asked for.
    """

    entries: list[tuple[Any, T]]
    scope: str
    has_next_page: bool
    has_previous_page: bool
    total_count: int | None
    failures: list[SourceFailure] = field(default_factory=list)
    resume_cursor: str | None = None
    """With no edges, where to retry from: the sources that failed still hold items."""

    @property
    def items(self) -> list[T]:
        return [item for _, item in self.entries]

    def cursor(self, index: int) -> str:
        """The cursor of the item at ``index`` (negative counts from the end)."""
        return encode_cursor(self.scope, self.entries[index][0])

    @property
    def edges(self) -> list[tuple[str, T]]:
        """Every item with its cursor, all encoded."""
        return [(encode_cursor(self.scope, position), item) for position, item in self.entries]


# -- in-memory lists -------------------------------------------------------------------


def slice_list(items: Sequence[T], args: ConnectionArgs, scope: str) -> Slice[T]:
    """Paginate a list that is wholly in memory; cursors are offsets."""

    def offset_of(cursor: str) -> int:
        offset = decode_cursor(cursor, scope)
        if not isinstance(offset, int) or not 0 <= offset < len(items):
            raise InvalidCursorError("cursor points outside this list")
        return offset

    start = offset_of(args.after) + 1 if args.after is not None else 0
    end = len(items)
    if args.before is not None:
        end = max(start, offset_of(args.before))
    window = range(start, end)
    return Slice(
        entries=[(i, items[i]) for i in _trim(window, args)],
        scope=scope,
        # Without `first`, `before`'s item follows the page; without `last`, `after`'s precedes.
        has_next_page=len(window) > args.head if args.head is not None else args.before is not None,
        has_previous_page=len(window) > args.tail if args.tail is not None else start > 0,
        total_count=len(items),
    )


def _trim(window: Sequence[T], args: ConnectionArgs) -> Sequence[T]:
    """Relay's EdgesToReturn after ApplyCursorsToEdges: the first ``head``, then of
    those the last ``tail``."""
    kept = window[: args.head] if args.head is not None else window
    if args.tail is not None:
        kept = kept[max(0, len(kept) - args.tail) :]
    return kept


# -- lists read from vendors, one or many sources ----------------------------------------


@dataclass(frozen=True, slots=True)
class SourceList(Generic[RecordT]):
    """How to read one source's list: its name, a page fetcher and its limits."""

    source: str
    fetch: PageFetcher[RecordT]
    max_page_size: int


Position = list[Any] | None  # [token, size, skip]; None once the source is exhausted
Caps = dict[str, int]  # per source: how many of its items lie before a `before` cursor


@dataclass(slots=True)
class _State:
    """Every source's position, whose turn is next, the chain's vendor page size, each
    source's total as its vendor last reported it (None: unknown), how many items of
    each source were served up to here, and which source served the last one.

    The served counts place a cursor in the merged list whatever chain of cursors (and
    vendor page size) it came from: the items before a ``before`` cursor are, per
    source, those it counts, less its own item.
    """

    positions: dict[str, Position]
    size: int
    turn: int = 0
    totals: dict[str, int | None] = field(default_factory=dict)
    served: dict[str, int] = field(default_factory=dict)
    last: str | None = None

    def encode(self) -> Any:
        """What a cursor here holds; a snapshot, so it can be encoded later."""
        return {
            "pos": dict(self.positions),
            "size": self.size,
            "turn": self.turn,
            "tot": dict(self.totals),
            "n": dict(self.served),
            "last": self.last,
        }

    def copy(self) -> _State:
        return _State(
            dict(self.positions),
            self.size,
            self.turn,
            dict(self.totals),
            dict(self.served),
            self.last,
        )

    def total(self) -> int | None:
        if any(self.totals.get(source) is None for source in self.positions):
            return None
        return sum(total for total in self.totals.values() if total is not None)

    def caps(self) -> Caps:
        """Per source, how many of its items come before this cursor's own item."""
        caps = dict(self.served)
        if self.last is not None:
            caps[self.last] -= 1
        return caps

    def room(self, source: str, caps: Caps | None) -> int | None:
        """Items of ``source`` left in the window (None: up to its end); 0 when none."""
        if self.positions[source] is None:
            return 0
        if caps is None:
            return None
        return max(0, caps[source] - self.served[source])


def _start_state(
    lists: Sequence[SourceList[Any]], count: int, like: _State | None = None
) -> _State:
    """The state before the first item; with ``like``, that cursor chain's page size,
    so that reading towards a ``before`` cursor asks the vendor for the same pages."""
    size = like.size if like is not None else max(count, MIN_VENDOR_PAGE)
    return _State(
        {item.source: [None, min(size, item.max_page_size), 0] for item in lists},
        size,
        served={item.source: 0 for item in lists},
    )


def _decode_state(cursor: str, scope: str, lists: Sequence[SourceList[Any]]) -> _State:
    data = decode_cursor(cursor, scope)
    names = {item.source for item in lists}
    try:
        positions, size, turn = data["pos"], int(data["size"]), int(data["turn"])
        totals = {name: None if n is None else int(n) for name, n in data.get("tot", {}).items()}
        served = {name: int(n) for name, n in data["n"].items()}
        last = data["last"]
        if set(positions) != names or set(served) != names:
            raise InvalidCursorError("cursor names other sources than this list")
        if not 1 <= size <= MAX_PAGE_SIZE or min(served.values(), default=0) < 0:
            raise InvalidCursorError("cursor is malformed")
        if last is not None and (last not in names or served[last] < 1):
            raise InvalidCursorError("cursor is malformed")
        for position in positions.values():
            if position is not None:
                token, page_size, skip = position
                if not (token is None or isinstance(token, str)) or page_size < 1 or skip < 0:
                    raise InvalidCursorError("cursor is malformed")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, InvalidCursorError):
            raise
        raise InvalidCursorError("cursor is malformed") from None
    return _State(dict(positions), size, turn, totals, served, last)


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
    lists: Sequence[SourceList[RecordT]],
    state: _State,
    count: int,
    caps: Caps | None = None,
    skip: frozenset[str] = frozenset(),
) -> tuple[list[tuple[Any, Sourced[RecordT]]], _State, list[SourceFailure]]:
    """The next ``count`` merged items after ``state``, round-robin over the sources,
    none past ``caps`` and none from the sources in ``skip``."""
    wanted = {
        item.source: count if room is None else min(count, room)
        for item in lists
        if item.source not in skip and (room := state.room(item.source, caps)) != 0
    }
    reads, failures = await gather_sources(
        [
            (item.source, _read_source(item, state.positions[item.source], wanted[item.source]))
            for item in lists
            if item.source in wanted
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
    edges: list[tuple[Any, Sourced[RecordT]]] = []
    names = [item.source for item in lists]
    while len(edges) < count and any(buffers.values()):
        name = names[state.turn % len(names)]
        state.turn = (state.turn + 1) % len(names)
        if buffers.get(name):
            record, after = buffers[name].popleft()
            state.positions[name] = after
            state.served[name] += 1
            state.last = name
            edges.append((state.encode(), Sourced(name, record)))
    for name, buffer in buffers.items():
        if not buffer:  # all it read was served: skip the empty pages it read past, too
            state.positions[name] = ends[name]
    return edges, state, failures


def _more(state: _State, caps: Caps | None, skip: frozenset[str] = frozenset()) -> bool:
    """Whether any source (not in ``skip``) still holds items of the window."""
    return any(state.room(name, caps) != 0 for name in state.positions if name not in skip)


async def merged_slice(
    lists: Sequence[SourceList[RecordT]], args: ConnectionArgs, scope: str
) -> Slice[Sourced[RecordT]]:
    """One page of the merged list of every source in ``lists``, as Relay's pagination
    algorithm cuts it: the window after ``after`` and before ``before``, then its first
    ``first`` items, then the last ``last`` of those.

    Both cursors are decoded before any vendor call, so a bad one costs none.
    """
    if not lists:
        return Slice([], scope, has_next_page=False, has_previous_page=False, total_count=0)
    after = _decode_state(args.after, scope, lists) if args.after is not None else None
    before = _decode_state(args.before, scope, lists) if args.before is not None else None
    state = after or _start_state(lists, args.head or args.tail or 0, like=before)
    caps = before.caps() if before is not None else None
    if args.head is None:
        return await _backward(lists, state, caps, args, scope)
    tail = args.tail
    need = args.head if tail is None else max(args.head, tail + 1)
    edges, end, failures = await _forward(lists, state, need, caps)
    more = len(edges) > args.head or _more(end, caps)
    kept = list(_trim(edges, args))
    resume = None
    if not kept and failures and more:
        resume = encode_cursor(scope, state.encode())  # the failed sources' positions
    return Slice(
        entries=kept,
        scope=scope,
        has_next_page=more,
        has_previous_page=(
            len(edges) > tail if tail is not None else after is not None and after.last is not None
        ),
        total_count=end.total(),
        failures=failures,
        resume_cursor=resume,
    )


async def _backward(
    lists: Sequence[SourceList[RecordT]],
    state: _State,
    caps: Caps | None,
    args: ConnectionArgs,
    scope: str,
) -> Slice[Sourced[RecordT]]:
    """The last ``args.tail`` items of the window, read forwards (vendors page forwards
    only), at most :data:`MAX_BACKWARD_SCAN` of them."""
    count = args.tail or 0
    window: deque[tuple[Any, Sourced[RecordT]]] = deque(maxlen=count + 1)
    failures: list[SourceFailure] = []
    scanned = 0
    while _more(state, caps, skip := frozenset(f.source for f in failures)):
        edges, state, failed = await _forward(lists, state, MAX_PAGE_SIZE, caps, skip)
        failures.extend(failed)  # a failed source is not asked again in this scan
        if not edges and not failed:
            break  # only empty pages came back: nothing more to find
        window.extend(edges)
        scanned += len(edges)
        if scanned > MAX_BACKWARD_SCAN:
            raise InvalidArgumentError(
                f"`last`/`before` would scan more than {MAX_BACKWARD_SCAN} items of this list; "
                "page forwards with `first`/`after` instead"
            )
    items = list(window)
    return Slice(
        entries=items[max(0, len(items) - count) :],
        scope=scope,
        has_next_page=args.before is not None,
        has_previous_page=len(items) > count,
        total_count=state.total(),
        failures=failures,
    )
