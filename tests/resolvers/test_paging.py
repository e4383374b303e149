"""Merged pagination without HTTP: sources are page fetchers over plain lists."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from connectors.base import Page
from connectors.errors import VendorUnavailable
from connectors.model import Skill
from resolvers.cursors import MAX_CURSOR_LENGTH, decode_cursor, encode_cursor, scope_of
from resolvers.errors import InvalidArgumentError, InvalidCursorError
from resolvers.paging import (
    MAX_BACKWARD_SCAN,
    MAX_PAGES_PER_READ,
    ConnectionArgs,
    SourceList,
    merged_slice,
    slice_list,
)
from tests.relay import relay_reference


class FakeVendor:
    """Pages a list the way a cursor API does; the token is the offset as a string."""

    def __init__(self, name: str, size: int, max_page: int = 250, counts: bool = False) -> None:
        self.name = name
        self.items = [Skill(id=f"{name}-{i}") for i in range(size)]
        self.calls: list[tuple[str | None, int]] = []
        self.max_page = max_page
        self.broken = False
        self.counts = counts

    async def fetch(self, token: str | None, size: int) -> Page[Skill]:
        self.calls.append((token, size))
        if self.broken:
            raise VendorUnavailable("down", source=self.name, vendor="fake")
        start = int(token or 0)
        end = start + min(size, self.max_page)
        total = len(self.items) if self.counts else None
        return Page(self.items[start:end], str(end) if end < len(self.items) else None, total)

    def as_list(self) -> SourceList[Skill]:
        return SourceList(self.name, self.fetch, self.max_page)


async def walk(vendors: Sequence[FakeVendor], first: int) -> list[str]:
    lists = [vendor.as_list() for vendor in vendors]
    seen: list[str] = []
    after = None
    for _ in range(1000):
        page = await merged_slice(lists, ConnectionArgs(first=first, after=after), "scope")
        seen.extend(item.record.id for _, item in page.edges)
        if not page.has_next_page:
            return seen
        after = page.edges[-1][0]
    raise AssertionError("did not end")


@pytest.mark.parametrize("first", [1, 3, 7, 25, 26, 250])
@pytest.mark.parametrize("sizes", [(0,), (60,), (60, 0, 13), (5, 200, 31, 1)])
async def test_every_item_exactly_once(first: int, sizes: tuple[int, ...]) -> None:
    vendors = [FakeVendor(f"s{i}", size) for i, size in enumerate(sizes)]
    seen = await walk(vendors, first)
    assert sorted(seen) == sorted(item.id for vendor in vendors for item in vendor.items)
    assert len(seen) == len(set(seen))


async def test_sources_interleave_round_robin_across_pages() -> None:
    a, b = FakeVendor("a", 3), FakeVendor("b", 5)
    assert await walk([a, b], 2) == ["a-0", "b-0", "a-1", "b-1", "a-2", "b-2", "b-3", "b-4"]


async def test_pages_that_end_on_a_vendor_page_boundary_do_not_refetch() -> None:
    vendor = FakeVendor("a", 100)
    await walk([vendor], 25)
    assert vendor.calls == [(None, 25), ("25", 25), ("50", 25), ("75", 25)]


async def test_a_failed_source_is_reported_and_retried_on_the_next_page() -> None:
    good, bad = FakeVendor("good", 4), FakeVendor("bad", 4)
    bad.broken = True
    lists = [good.as_list(), bad.as_list()]
    page = await merged_slice(lists, ConnectionArgs(first=2), "scope")
    assert [item.record.id for _, item in page.edges] == ["good-0", "good-1"]
    assert [failure.source for failure in page.failures] == ["bad"]
    assert page.has_next_page
    bad.broken = False
    rest = await merged_slice(lists, ConnectionArgs(first=10, after=page.edges[-1][0]), "scope")
    assert [item.record.id for _, item in rest.edges] == [
        "bad-0", "good-2", "bad-1", "good-3", "bad-2", "bad-3",
    ]  # fmt: skip


async def test_backward_page_matches_the_forward_walk() -> None:
    vendors = [FakeVendor("a", 40), FakeVendor("b", 9)]
    lists = [vendor.as_list() for vendor in vendors]
    forward = await merged_slice(lists, ConnectionArgs(first=30), "scope")
    before = forward.edges[20][0]
    backward = await merged_slice(lists, ConnectionArgs(last=4, before=before), "scope")
    assert [c for c, _ in backward.edges] == [c for c, _ in forward.edges[16:20]]
    assert backward.has_previous_page
    assert backward.has_next_page
    tail = await merged_slice(lists, ConnectionArgs(last=2), "scope")
    assert [item.record.id for _, item in tail.edges] == ["a-38", "a-39"]
    assert not tail.has_next_page


def test_in_memory_slices() -> None:
    items = list(range(10))
    first = slice_list(items, ConnectionArgs(first=4), "s")
    assert [item for _, item in first.edges] == [0, 1, 2, 3]
    assert (first.has_next_page, first.has_previous_page, first.total_count) == (True, False, 10)
    second = slice_list(items, ConnectionArgs(first=4, after=first.edges[-1][0]), "s")
    assert [item for _, item in second.edges] == [4, 5, 6, 7]
    back = slice_list(items, ConnectionArgs(last=2, before=second.edges[0][0]), "s")
    assert [item for _, item in back.edges] == [2, 3]
    with pytest.raises(InvalidCursorError):
        slice_list(items, ConnectionArgs(first=1, after=encode_cursor("s", 99)), "s")


@pytest.mark.parametrize("kwargs", [{"first": 251}, {"last": 251}, {"first": -1}, {"last": -1}])
def test_bad_arguments(kwargs: dict[str, int]) -> None:
    with pytest.raises(InvalidArgumentError):
        ConnectionArgs(**kwargs)


def test_cursor_round_trip_and_refusals() -> None:
    scope = scope_of("users", ["a"], None, False)
    cursor = encode_cursor(scope, {"pos": {"a": ["tok", 25, 3]}, "turn": 0})
    assert decode_cursor(cursor, scope) == {"pos": {"a": ["tok", 25, 3]}, "turn": 0}
    with pytest.raises(InvalidCursorError, match="different list"):
        decode_cursor(cursor, scope_of("courses", ["a"], None, False))
    with pytest.raises(InvalidCursorError, match="modified"):
        decode_cursor(cursor[:-2] + ("AA" if not cursor.endswith("AA") else "BB"), scope)
    with pytest.raises(InvalidCursorError):
        decode_cursor("%%%", scope)


async def test_cursor_naming_other_sources_is_refused() -> None:
    a, b = FakeVendor("a", 3), FakeVendor("b", 3)
    page = await merged_slice([a.as_list()], ConnectionArgs(first=1), "scope")
    with pytest.raises(InvalidCursorError, match="other sources"):
        await merged_slice(
            [a.as_list(), b.as_list()], ConnectionArgs(first=1, after=page.edges[0][0]), "scope"
        )


async def test_total_count_sums_sources_that_count_on_every_page() -> None:
    vendors = [FakeVendor("a", 3, counts=True), FakeVendor("b", 40, counts=True)]
    lists = [vendor.as_list() for vendor in vendors]
    after = None
    totals = []
    while True:
        page = await merged_slice(lists, ConnectionArgs(first=10, after=after), "scope")
        totals.append(page.total_count)
        if not page.has_next_page:
            break
        after = page.edges[-1][0]
    # "a" is exhausted after the first page; its total still counts from the cursor.
    assert totals == [43] * 5
    backward = await merged_slice(lists, ConnectionArgs(last=5), "scope")
    assert backward.total_count == 43


async def test_total_count_is_null_when_one_source_cannot_count_or_fails() -> None:
    counting, silent = FakeVendor("a", 3, counts=True), FakeVendor("b", 4)
    page = await merged_slice([counting.as_list(), silent.as_list()], ConnectionArgs(first=2), "s")
    assert page.total_count is None
    broken = FakeVendor("c", 4, counts=True)
    broken.broken = True
    page = await merged_slice([counting.as_list(), broken.as_list()], ConnectionArgs(first=2), "s")
    assert page.total_count is None
    assert [failure.source for failure in page.failures] == ["c"]


def round_robin(vendors: Sequence[FakeVendor]) -> list[str]:
    queues = [[item.id for item in vendor.items] for vendor in vendors]
    merged: list[str] = []
    while any(queues):
        merged.extend(queue.pop(0) for queue in queues if queue)
    return merged


async def _cursors(lists: Sequence[SourceList[Skill]], first: int) -> list[str]:
    cursors: list[str] = []
    after = None
    while True:
        page = await merged_slice(lists, ConnectionArgs(first=first, after=after), "scope")
        cursors.extend(cursor for cursor, _ in page.edges)
        if not page.has_next_page:
            return cursors
        after = page.edges[-1][0]


COMBOS = [
    # (after, before, first, last): indices into the merged list
    (None, 9, 10, None),
    (2, 20, 5, None),
    (2, 20, 50, None),
    (2, 20, None, 4),
    (2, 20, None, 50),
    (5, None, None, 3),
    (5, None, None, 250),
    (None, None, 10, 3),
    (3, 30, 10, 4),
    (3, 30, 2, 4),
    (10, 10, 5, None),
    (12, 11, 5, None),
    (None, 0, 5, None),
    (None, 1, None, 5),
    (40, None, 5, None),
]


@pytest.mark.parametrize(("after", "before", "first", "last"), COMBOS)
@pytest.mark.parametrize("cursor_pages", [(1, 1), (4, 7), (7, 250)])
async def test_every_combination_follows_the_relay_algorithm(
    after: int | None,
    before: int | None,
    first: int | None,
    last: int | None,
    cursor_pages: tuple[int, int],
) -> None:
    vendors = [FakeVendor("a", 30), FakeVendor("b", 5), FakeVendor("c", 11)]
    lists = [vendor.as_list() for vendor in vendors]
    ids = round_robin(vendors)
    # The two cursors may come from chains paged with different sizes.
    after_chain, before_chain = [await _cursors(lists, size) for size in cursor_pages]
    assert len(after_chain) == len(before_chain) == len(ids)
    args = ConnectionArgs(
        first=first,
        after=after_chain[after] if after is not None else None,
        last=last,
        before=before_chain[before] if before is not None else None,
    )
    page = await merged_slice(lists, args, "scope")
    got = [item.record.id for _, item in page.edges]
    assert (got, page.has_next_page, page.has_previous_page) == relay_reference(
        ids, after, before, first, last
    )
    memory = slice_list(
        ids,
        ConnectionArgs(
            first=first,
            after=encode_cursor("m", after) if after is not None else None,
            last=last,
            before=encode_cursor("m", before) if before is not None else None,
        ),
        "m",
    )
    expected = relay_reference(ids, after, before, first, last)
    assert ([i for _, i in memory.edges], memory.has_next_page, memory.has_previous_page) == (
        expected
    )


@pytest.mark.parametrize("argument", ["after", "before"])
async def test_a_malformed_cursor_in_any_argument_is_refused_before_any_call(
    argument: str,
) -> None:
    vendor = FakeVendor("a", 10)
    for bad in ("%%%", "x" * (MAX_CURSOR_LENGTH + 1)):
        with pytest.raises(InvalidCursorError):
            await merged_slice([vendor.as_list()], ConnectionArgs(first=3, **{argument: bad}), "s")
    assert vendor.calls == []


async def test_when_the_sources_holding_items_fail_the_end_cursor_resumes_them() -> None:
    done, bad = FakeVendor("done", 2), FakeVendor("bad", 6)
    lists = [done.as_list(), bad.as_list()]
    first = await merged_slice(lists, ConnectionArgs(first=4), "s")
    assert [i.record.id for _, i in first.edges] == ["done-0", "bad-0", "done-1", "bad-1"]
    bad.broken = True
    failed = await merged_slice(lists, ConnectionArgs(first=4, after=first.edges[-1][0]), "s")
    assert failed.edges == []
    assert [f.source for f in failed.failures] == ["bad"]
    assert failed.has_next_page
    assert failed.resume_cursor is not None
    bad.broken = False
    resumed = await merged_slice(lists, ConnectionArgs(first=10, after=failed.resume_cursor), "s")
    assert [i.record.id for _, i in resumed.edges] == ["bad-2", "bad-3", "bad-4", "bad-5"]
    assert not resumed.has_next_page
    # On the very first page, too.
    bad.broken = True
    start = await merged_slice([bad.as_list()], ConnectionArgs(first=3), "s")
    assert (start.edges, start.has_next_page) == ([], True)
    bad.broken = False
    assert start.resume_cursor is not None
    again = await merged_slice(
        [bad.as_list()], ConnectionArgs(first=3, after=start.resume_cursor), "s"
    )
    assert [i.record.id for _, i in again.edges] == ["bad-0", "bad-1", "bad-2"]
    assert not again.has_previous_page


async def test_a_backward_scan_stops_at_its_bound() -> None:
    vendor = FakeVendor("a", MAX_BACKWARD_SCAN + 300)
    with pytest.raises(InvalidArgumentError, match="5000"):
        await merged_slice([vendor.as_list()], ConnectionArgs(last=5), "s")
    # Near the start, `before` keeps the scan short.
    early = await merged_slice([vendor.as_list()], ConnectionArgs(first=10), "s")
    vendor.calls.clear()
    page = await merged_slice(
        [vendor.as_list()], ConnectionArgs(last=3, before=early.edges[9][0]), "s"
    )
    assert [i.record.id for _, i in page.edges] == ["a-6", "a-7", "a-8"]
    assert len(vendor.calls) == 1


async def test_a_source_failing_in_a_backward_scan_is_asked_once() -> None:
    good, bad = FakeVendor("good", 600), FakeVendor("bad", 600)
    bad.broken = True
    page = await merged_slice([good.as_list(), bad.as_list()], ConnectionArgs(last=2), "s")
    assert [i.record.id for _, i in page.edges] == ["good-598", "good-599"]
    assert [f.source for f in page.failures] == ["bad"]
    assert len(bad.calls) == 1


@pytest.mark.parametrize("sizes", [(1,), (7,), (7, 2), (1, 5, 3), (0, 4, 0, 9)])
async def test_random_combinations_follow_the_relay_algorithm(sizes: tuple[int, ...]) -> None:
    """Merged and in-memory lists, cursors from chains of different page sizes."""
    rng = random.Random(sum(sizes))
    vendors = [FakeVendor(f"s{i}", size, max_page=3) for i, size in enumerate(sizes)]
    lists = [vendor.as_list() for vendor in vendors]
    ids = round_robin(vendors)
    chains = {size: await _cursors(lists, size) for size in (1, 2, 5)}
    for _ in range(80):
        after = rng.choice([None, *range(len(ids))])
        before = rng.choice([None, *range(len(ids))])
        first = rng.choice([None, 0, 1, 2, 3, 10])
        last = rng.choice([None, 0, 1, 2, 3, 10])
        if first is None and last is None:
            first = 4  # the spec's "everything" is our default page size
        args = ConnectionArgs(
            first=first,
            after=chains[rng.choice([1, 2, 5])][after] if after is not None else None,
            last=last,
            before=chains[rng.choice([1, 2, 5])][before] if before is not None else None,
        )
        page = await merged_slice(lists, args, "scope")
        got = [item.record.id for _, item in page.edges]
        expected = relay_reference(ids, after, before, first, last)
        assert (got, page.has_next_page, page.has_previous_page) == expected, (
            after, before, first, last,
        )  # fmt: skip
        memory = slice_list(
            ids,
            ConnectionArgs(
                first=first,
                after=encode_cursor("m", after) if after is not None else None,
                last=last,
                before=encode_cursor("m", before) if before is not None else None,
            ),
            "m",
        )
        got = [item for _, item in memory.edges]
        assert (got, memory.has_next_page, memory.has_previous_page) == expected


def test_an_in_memory_cursor_one_past_the_end_is_refused() -> None:
    items = list(range(10))
    with pytest.raises(InvalidCursorError) as caught:
        slice_list(items, ConnectionArgs(first=1, after=encode_cursor("s", 10)), "s")
    assert str(caught.value) == "cursor points outside this list"


def test_verify_refuses_another_lists_cursor_in_either_argument() -> None:
    ours, theirs = encode_cursor("s", 0), encode_cursor("other", 0)
    ConnectionArgs(first=1, after=ours, before=ours).verify("s")
    ConnectionArgs(first=1).verify("s")
    for argument in ("after", "before"):
        with pytest.raises(InvalidCursorError, match="different list"):
            ConnectionArgs(first=1, **{argument: theirs}).verify("s")


def _state(**changes: object) -> dict[str, object]:
    """A merged cursor's position over one source `a`, one item served, with ``changes``."""
    state: dict[str, object] = {
        "pos": {"a": ["1", 25, 0]},
        "size": 25,
        "turn": 0,
        "tot": {"a": None},
        "n": {"a": 1},
        "last": "a",
    }
    state.update(changes)
    return state


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"n": {"b": 1}}, "cursor names other sources than this list"),
        ({"size": 0}, "cursor is malformed"),
        ({"size": 251}, "cursor is malformed"),
        ({"n": {"a": -1}, "last": None}, "cursor is malformed"),
        ({"n": {"a": 0}}, "cursor is malformed"),
        ({"last": "b"}, "cursor is malformed"),
        ({"pos": {"a": [5, 25, 0]}}, "cursor is malformed"),
        ({"pos": {"a": ["1", 0, 0]}}, "cursor is malformed"),
        ({"pos": {"a": ["1", 25, -1]}}, "cursor is malformed"),
        ({"turn": "x"}, "cursor is malformed"),
    ],
)
async def test_a_tampered_merged_cursor_is_refused_with_a_clear_message(
    changes: dict[str, object], message: str
) -> None:
    vendor = FakeVendor("a", 10)
    cursor = encode_cursor("s", _state(**changes))
    with pytest.raises(InvalidCursorError) as caught:
        await merged_slice([vendor.as_list()], ConnectionArgs(first=1, after=cursor), "s")
    assert str(caught.value) == message
    assert vendor.calls == []


async def test_the_smallest_sizes_and_a_cursor_without_totals_are_accepted() -> None:
    vendor = FakeVendor("a", 10, counts=True)
    state = _state(size=1, pos={"a": ["1", 1, 0]})
    del state["tot"]
    page = await merged_slice(
        [vendor.as_list()], ConnectionArgs(first=2, after=encode_cursor("s", state)), "s"
    )
    assert [i.record.id for _, i in page.edges] == ["a-1", "a-2"]
    assert vendor.calls == [("1", 1), ("2", 1)]


async def test_a_failure_carries_the_vendors_error() -> None:
    vendor = FakeVendor("a", 3)
    vendor.broken = True
    page = await merged_slice([vendor.as_list()], ConnectionArgs(first=1), "s")
    assert [(f.source, str(f.error)) for f in page.failures] == [("a", "source 'a' (fake): down")]
    assert isinstance(page.failures[0].error, VendorUnavailable)


class EmptyPages(FakeVendor):
    """A vendor that answers `empty` empty pages, each with a fresh token, before its items."""

    def __init__(self, name: str, size: int, empty: int) -> None:
        super().__init__(name, size)
        self.empty = empty

    async def fetch(self, token: str | None, size: int) -> Page[Skill]:
        served = len(self.calls)
        if served < self.empty:
            self.calls.append((token, size))
            return Page([], f"empty-{served + 1}", None)
        return await super().fetch(None if token and token.startswith("empty") else token, size)


async def test_one_read_follows_at_most_max_pages_per_read_empty_pages() -> None:
    vendor = EmptyPages("a", 0, empty=10**6)
    page = await merged_slice([vendor.as_list()], ConnectionArgs(first=1), "s")
    assert (page.edges, page.has_next_page) == ([], True)
    assert len(vendor.calls) == MAX_PAGES_PER_READ
    backward = await merged_slice([vendor.as_list()], ConnectionArgs(last=1), "s")
    assert (backward.edges, backward.failures) == ([], [])


async def test_a_backward_scan_goes_on_past_empty_pages_when_another_source_failed() -> None:
    good, bad = EmptyPages("good", 3, empty=MAX_PAGES_PER_READ + 5), FakeVendor("bad", 3)
    bad.broken = True
    page = await merged_slice([good.as_list(), bad.as_list()], ConnectionArgs(last=2), "s")
    assert [i.record.id for _, i in page.edges] == ["good-1", "good-2"]
    assert [f.source for f in page.failures] == ["bad"]


async def test_a_backward_scan_of_exactly_its_bound_is_served() -> None:
    vendor = FakeVendor("a", MAX_BACKWARD_SCAN)
    page = await merged_slice([vendor.as_list()], ConnectionArgs(last=2), "s")
    assert [i.record.id for _, i in page.edges] == [
        f"a-{MAX_BACKWARD_SCAN - 2}",
        f"a-{MAX_BACKWARD_SCAN - 1}",
    ]
    vendor.items.append(Skill(id="one-more"))
    with pytest.raises(InvalidArgumentError) as caught:
        await merged_slice([vendor.as_list()], ConnectionArgs(last=2), "s")
    assert str(caught.value) == (
        f"`last`/`before` would scan more than {MAX_BACKWARD_SCAN} items of this list; "
        "page forwards with `first`/`after` instead"
    )


def test_bad_arguments_say_which_argument_and_why() -> None:
    with pytest.raises(InvalidArgumentError) as negative:
        ConnectionArgs(last=-1)
    assert str(negative.value) == "`last` must not be negative"
    with pytest.raises(InvalidArgumentError) as big:
        ConnectionArgs(first=251)
    assert str(big.value) == "`first` must be at most 250, got 251"
    with pytest.raises(InvalidCursorError, match=r"^`before` is"):
        ConnectionArgs(last=1, before="x" * (MAX_CURSOR_LENGTH + 1))


async def test_each_edge_names_its_source() -> None:
    a, b = FakeVendor("a", 2), FakeVendor("b", 2)
    page = await merged_slice([a.as_list(), b.as_list()], ConnectionArgs(first=4), "s")
    assert [(i.source, i.record.id) for _, i in page.edges] == [
        ("a", "a-0"),
        ("b", "b-0"),
        ("a", "a-1"),
        ("b", "b-1"),
    ]


async def test_no_sources_is_an_empty_counted_page() -> None:
    page = await merged_slice([], ConnectionArgs(first=3), "s")
    assert (page.edges, page.has_next_page, page.has_previous_page, page.total_count) == (
        [],
        False,
        False,
        0,
    )


async def test_the_vendor_page_size_follows_a_first_above_the_minimum() -> None:
    vendor = FakeVendor("a", 100)
    await merged_slice([vendor.as_list()], ConnectionArgs(first=30), "s")
    assert vendor.calls == [(None, 30)]


async def test_first_and_last_read_no_item_past_the_one_that_tells_about_the_previous_page() -> (
    None
):
    vendor = FakeVendor("a", 30)
    start = await merged_slice([vendor.as_list()], ConnectionArgs(first=23), "s")
    vendor.calls.clear()
    page = await merged_slice(
        [vendor.as_list()], ConnectionArgs(first=1, last=1, after=start.edges[-1][0]), "s"
    )
    assert [i.record.id for _, i in page.edges] == ["a-23"]
    assert (page.has_next_page, page.has_previous_page) == (True, True)
    assert vendor.calls == [(None, 25)]  # a-23 and a-24 end the first vendor page: no call for a-25


@pytest.mark.parametrize("first", [0, 2])
async def test_a_page_without_failures_has_no_resume_cursor(first: int) -> None:
    vendor = FakeVendor("a", 5)
    page = await merged_slice([vendor.as_list()], ConnectionArgs(first=first), "s")
    assert page.has_next_page
    assert page.resume_cursor is None


def test_in_memory_cursors_are_the_offsets_encoded_when_asked() -> None:
    page = slice_list(list("abcdefgh"), ConnectionArgs(first=3, after=encode_cursor("s", 1)), "s")
    assert page.items == ["c", "d", "e"]
    assert [cursor for cursor, _ in page.edges] == [encode_cursor("s", i) for i in (2, 3, 4)]
    assert (page.cursor(0), page.cursor(-1)) == (encode_cursor("s", 2), encode_cursor("s", 4))


async def test_each_merged_cursor_holds_the_state_after_its_own_item() -> None:
    """Cursors are encoded after the page is read: each must still hold its own position,
    not the one the read ended at."""
    lists = [FakeVendor("a", 5).as_list(), FakeVendor("b", 5).as_list()]
    page = await merged_slice(lists, ConnectionArgs(first=4), "scope")
    states = [decode_cursor(cursor, "scope") for cursor, _ in page.edges]
    assert [state["n"] for state in states] == [
        {"a": 1, "b": 0},
        {"a": 1, "b": 1},
        {"a": 2, "b": 1},
        {"a": 2, "b": 2},
    ]
    assert [state["last"] for state in states] == ["a", "b", "a", "b"]
    assert page.cursor(-1) == page.edges[-1][0]
    following = await merged_slice(lists, ConnectionArgs(first=1, after=page.cursor(1)), "scope")
    assert [item.record.id for item in following.items] == [page.items[2].record.id]
