from __future__ import annotations

from typing import Any

import pytest

from connectors.pagination import BodyCursorPaginator, Paginator, RepeatedTokenError, TokenChain


def _paginator() -> BodyCursorPaginator:
    return BodyCursorPaginator(lambda page: page["data"]["next"])


def _page(next_cursor: str | None) -> dict[str, Any]:
    return {"status": "success", "data": {"next": next_cursor, "results": []}}


def test_first_token_is_none() -> None:
    assert _paginator().first_token() is None


def test_next_token_is_read_from_the_body() -> None:
    paginator = _paginator()
    assert paginator.next_token(_page("c1")) == "c1"
    assert paginator.next_token(_page("c2")) == "c2"


@pytest.mark.parametrize("last", [None, ""])
def test_none_or_empty_cursor_ends_the_walk(last: str | None) -> None:
    paginator = _paginator()
    assert paginator.next_token(_page("c1")) == "c1"
    assert paginator.next_token(_page(last)) is None


def test_end_of_walk_does_not_count_as_a_seen_token() -> None:
    paginator = _paginator()
    assert paginator.next_token(_page(None)) is None
    assert paginator.next_token(_page(None)) is None
    assert paginator.next_token(_page("")) is None


def test_repeated_token_raises() -> None:
    paginator = _paginator()
    paginator.next_token(_page("c1"))
    paginator.next_token(_page("c2"))
    with pytest.raises(RepeatedTokenError, match="repeated"):
        paginator.next_token(_page("c1"))


def test_repeated_token_error_is_a_value_error() -> None:
    assert issubclass(RepeatedTokenError, ValueError)


def test_each_walk_tracks_its_own_tokens() -> None:
    first, second = _paginator(), _paginator()
    assert first.next_token(_page("c1")) == "c1"
    assert second.next_token(_page("c1")) == "c1"


def test_locate_receives_the_page_object() -> None:
    seen: list[object] = []
    sentinel = object()

    def locate(page: object) -> str | None:
        seen.append(page)
        return "c9"

    assert BodyCursorPaginator(locate).next_token(sentinel) == "c9"
    assert seen == [sentinel]


def test_base_paginator_needs_an_extract_strategy() -> None:
    with pytest.raises(NotImplementedError):
        Paginator[str]().next_token(_page("c1"))


def test_a_token_chain_refuses_a_next_token_leading_back_to_the_page_read() -> None:
    chain: TokenChain[str] = TokenChain()
    assert chain.link(None, "a") == "a"
    assert chain.link("a", "b") == "b"
    assert chain.link(None, "a") == "a"  # the first page read again: no loop
    assert chain.link("a", "b") == "b"  # nor is its next page
    with pytest.raises(RepeatedTokenError):
        chain.link("b", "a")  # b -> a -> b
    with pytest.raises(RepeatedTokenError):
        chain.link("b", "b")  # a page pointing at itself
    assert chain.link("b", None) is None
