"""Skilljar's ``next`` links as page tokens that can never lead away from the API.

Skilljar answers ``next`` as an absolute URL (a page number, or an opaque cursor on
``/v1/users``). A token is that link's path and query below the configured base URL, e.g.
``/v1/users?cursor=…&page_size=50``; only a link to the same scheme, host, port and list
becomes one, and only a token of the list being read is sent back, so credentials go to
the configured host alone and a token cannot be turned into another call. Tested
without HTTP.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from yarl import URL

from connectors.pagination import Paginator
from connectors.skilljar.payloads import SkilljarPage

__all__ = [
    "ForeignLinkError",
    "NextLinkPaginator",
    "link_token",
    "split_skip",
    "token_request",
    "with_skip",
]

#: Marks a token that resumes inside a vendor page: ``<page token>#skip=<items served>``.
_SKIP = "#skip="


class ForeignLinkError(ValueError):
    """A ``next`` link or token that does not point at the list being read."""


def _same_list(path: str, list_path: str) -> bool:
    # A DRF router may or may not add a trailing slash to the links it builds.
    return path.rstrip("/") == list_path.rstrip("/")


def link_token(base_url: str, list_path: str, link: str | None) -> str | None:
    """The token for ``link``, the ``next`` of a page of ``list_path``; None at the end.

    Raises:
        ForeignLinkError: The link leaves the base URL or points at another list.
    """
    if not link:
        return None
    base, target = URL(base_url), URL(link)
    prefix = base.raw_path.rstrip("/")
    same_origin = (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)
    if not same_origin or not target.raw_path.startswith(prefix + "/"):
        raise ForeignLinkError("next link points outside the API")
    relative = target.raw_path[len(prefix) :]
    if not _same_list(relative, list_path):
        raise ForeignLinkError("next link points at another list")
    query = target.raw_query_string
    return f"{relative}?{query}" if query else relative


def token_request(list_path: str, token: str) -> tuple[str, dict[str, str]]:
    """The path and query parameters a token of ``list_path`` asks for.

    Raises:
        ForeignLinkError: The token is not one of ``list_path``.
    """
    path, _, query = token.partition("?")
    if not _same_list(path, list_path):
        raise ForeignLinkError("page token is not one of this list")
    return path, dict(parse_qsl(query, keep_blank_values=True))


def with_skip(token: str | None, skip: int) -> str:
    """A token for the page of ``token`` (None: the first page) without its first ``skip``
    items: what resumes a page the vendor made larger than asked."""
    return f"{token or ''}{_SKIP}{skip}"


def split_skip(token: str | None) -> tuple[str | None, int]:
    """The page token and the items of that page already served.

    Raises:
        ForeignLinkError: The token's skip part is not a count.
    """
    if token is None:
        return None, 0
    page, marker, skip = token.partition(_SKIP)
    if not marker:
        return token, 0
    if not (skip.isascii() and skip.isdigit()):
        raise ForeignLinkError("page token is malformed")
    return page or None, int(skip)


class NextLinkPaginator(Paginator[str]):
    """Tokens of one walk over ``list_path``; refuses foreign links and repeated ones."""

    def __init__(self, base_url: str, list_path: str) -> None:
        super().__init__()
        self._base_url = base_url
        self._list_path = list_path

    def extract(self, page: SkilljarPage[Any]) -> str | None:
        return link_token(self._base_url, self._list_path, page.next)
