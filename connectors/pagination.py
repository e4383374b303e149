"""Paginators: how a vendor says where the next page starts, as small strategies.

A client holds one and loops ``first_token`` → ``next_token(page)`` until it is None,
so the loop is written once and each strategy is testable without HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["BodyCursorPaginator", "Paginator", "RepeatedTokenError", "TokenChain"]

TokenT = TypeVar("TokenT")


class RepeatedTokenError(ValueError):
    """The vendor sent the same next-page token twice: following it would loop forever."""


class TokenChain(Generic[TokenT]):
    """The pages of one chain and where each pointed next: a next token leading back to
    the page just read is a loop.

    The one place that rule lives: walks use it through :class:`Paginator`, and the
    page-at-a-time reads of GraphQL connections through the same class (a chain there
    being every page one request reads of one source's list). Re-reading a page, which
    points where it pointed before, is no loop; being pointed back at a page of this
    chain is.
    """

    def __init__(self) -> None:
        self._next: dict[TokenT | None, TokenT] = {}

    def link(self, token: TokenT | None, next_token: TokenT | None) -> TokenT | None:
        """Record that the page of ``token`` (None: the first) points at ``next_token``.

        Raises:
            RepeatedTokenError: Following ``next_token`` leads back to ``token``.
        """
        if next_token is None:
            return None
        step: TokenT | None = next_token
        while step is not None:  # the links hold no cycle: every link was checked
            if step == token:
                raise RepeatedTokenError("next-page token repeated")
            step = self._next.get(step)
        self._next[token] = next_token
        return next_token


class Paginator(Generic[TokenT]):
    """Follows the tokens of one walk and refuses to revisit one."""

    def __init__(self) -> None:
        self._chain: TokenChain[TokenT] = TokenChain()
        self._current: TokenT | None = None

    def first_token(self) -> TokenT | None:
        return None

    def next_token(self, page: Any) -> TokenT | None:
        """The token of the page after ``page`` (the page of the last token returned)."""
        token = self._chain.link(self._current, self.extract(page))
        if token is not None:
            self._current = token
        return token

    def extract(self, page: Any) -> TokenT | None:
        raise NotImplementedError


class BodyCursorPaginator(Paginator[str]):
    """The next cursor is a string somewhere in the response body (``data.next`` for Kombo)."""

    def __init__(self, locate: Callable[[Any], str | None]) -> None:
        super().__init__()
        self._locate = locate

    def extract(self, page: Any) -> str | None:
        token = self._locate(page)
        return token or None
