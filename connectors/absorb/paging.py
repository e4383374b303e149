"""Absorb's page-index pagination as a value: ``_offset`` counts pages, not items.

A list token is ``"<page index>:<page size>"``: the size travels with the index because
page 3 of 20 and page 3 of 50 are different items. Tested without HTTP.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from connectors.absorb.payloads import AbsorbPage

__all__ = ["PageIndex"]

_TOKEN = re.compile(r"([0-9]{1,5}):([0-9]{1,4})", re.ASCII)


@dataclass(frozen=True, slots=True)
class PageIndex:
    """One page of a list: its 0-based index and the page size it is counted in."""

    offset: int
    limit: int

    @classmethod
    def first(cls, size: int, max_size: int) -> PageIndex:
        return cls(0, max(1, min(size, max_size)))

    @classmethod
    def parse(cls, token: str, max_size: int) -> PageIndex | None:
        """The position a token of :meth:`token` names, or None if it is not one."""
        match = _TOKEN.fullmatch(token)
        if match is None or not 1 <= int(match[2]) <= max_size:
            return None
        return cls(int(match[1]), int(match[2]))

    def token(self) -> str:
        return f"{self.offset}:{self.limit}"

    def params(self) -> dict[str, str]:
        return {"_limit": str(self.limit), "_offset": str(self.offset)}

    def after(self, page: AbsorbPage[Any]) -> PageIndex | None:
        """The next page, or None when ``page`` (read at this position) was the last.

        Absorb may serve fewer items per page than asked for; its echoed ``limit`` is
        then the size the following page indexes count in.
        """
        limit = page.limit if page.limit else self.limit
        if not page.items or (self.offset + 1) * limit >= page.total_items:
            return None
        return PageIndex(self.offset + 1, limit)
