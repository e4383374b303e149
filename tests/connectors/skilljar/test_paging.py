"""Skilljar's next links as tokens, without HTTP: what becomes a token and what is refused."""

from __future__ import annotations

import pytest

from connectors.pagination import RepeatedTokenError
from connectors.skilljar import payloads
from connectors.skilljar.paging import (
    ForeignLinkError,
    NextLinkPaginator,
    link_token,
    split_skip,
    token_request,
    with_skip,
)

BASE = "http://127.0.0.1:8700/skilljar"
USERS = "/v1/users"


def test_a_link_below_the_base_becomes_a_relative_token_and_back() -> None:
    link = f"{BASE}/v1/users?page_size=7&cursor=bz03"
    token = link_token(BASE, USERS, link)
    assert token == "/v1/users?page_size=7&cursor=bz03"
    assert token_request(USERS, token) == ("/v1/users", {"page_size": "7", "cursor": "bz03"})


def test_escaped_query_values_are_sent_as_skilljar_meant_them() -> None:
    token = link_token(BASE, USERS, f"{BASE}/v1/users?cursor=bz0xNA%3D%3D")
    assert token is not None
    assert token_request(USERS, token)[1] == {"cursor": "bz0xNA=="}


def test_no_link_is_the_end_and_a_trailing_slash_is_the_same_list() -> None:
    assert link_token(BASE, USERS, None) is None
    assert link_token(BASE, USERS, "") is None
    assert link_token(BASE, USERS, f"{BASE}/v1/users/?page=2") == "/v1/users/?page=2"


@pytest.mark.parametrize(
    "link",
    [
        "http://127.0.0.1:8701/skilljar/v1/users?page=2",  # another port
        "https://127.0.0.1:8700/skilljar/v1/users?page=2",  # another scheme
        "http://localhost:8700/skilljar/v1/users?page=2",  # another host
        "http://127.0.0.1:8700/v1/users?page=2",  # outside the base path
        "http://127.0.0.1:8700/skilljarx/v1/users?page=2",
        f"{BASE}/v1/users/abc?page=2",  # another list
        "/skilljar/v1/users?page=2",  # relative: Skilljar sends absolute links
    ],
)
def test_links_elsewhere_are_refused(link: str) -> None:
    with pytest.raises(ForeignLinkError):
        link_token(BASE, USERS, link)


@pytest.mark.parametrize("token", ["/v1/courses?page=2", "//evil.example/v1/users", "v1/users"])
def test_tokens_of_other_lists_are_refused(token: str) -> None:
    with pytest.raises(ForeignLinkError):
        token_request(USERS, token)


def test_the_paginator_refuses_a_repeated_link() -> None:
    paginator = NextLinkPaginator(BASE, USERS)
    page = payloads.USERS_PAGE.validate_python(
        {"count": 9, "next": f"{BASE}/v1/users?page=2", "results": []}
    )
    assert paginator.next_token(page) == "/v1/users?page=2"
    with pytest.raises(RepeatedTokenError):
        paginator.next_token(page)


@pytest.mark.parametrize(("token", "skip"), [(None, 25), ("/v1/users?cursor=abc&page_size=25", 50)])
def test_a_token_resuming_inside_a_page_splits_back(token: str | None, skip: int) -> None:
    assert split_skip(with_skip(token, skip)) == (token, skip)
    assert split_skip(token) == (token, 0)


@pytest.mark.parametrize("token", ["/v1/users?cursor=a#skip=", "/v1/users#skip=-1", "#skip=1x"])
def test_a_malformed_skip_is_refused(token: str) -> None:
    with pytest.raises(ForeignLinkError):
        split_skip(token)
