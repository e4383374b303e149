"""Paginators: how a vendor says where the next page starts, as small strategies.

A client holds one and loops ``first_token`` → ``next_token(page)`` until it is None,
so the loop is written once and each strategy is testable without HTTP.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

__all__ = ["BodyCursorPaginator", "Paginator", "RepeatedTokenError"]

TokenT = TypeVar("TokenT")


class RepeatedTokenError(ValueError):
    """The vendor sent the same next-page token twice: following it would loop forever."""


class Paginator(Generic[TokenT]):
    """Tracks the tokens seen in one walk and refuses to revisit one."""

    def __init__(self) -> None:
        self._seen: set[TokenT] = set()

    def first_token(self) -> TokenT | None:
        return None

    def next_token(self, page: Any) -> TokenT | None:
        token = self.extract(page)
        if token is None:
            return None
        if token in self._seen:
            raise RepeatedTokenError(f"next-page token repeated: {token!r}")
        self._seen.add(token)
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
