"""The configured sources of one server, in configuration order, and what one client sees.

A client limited to some sources gets a :meth:`SourceRegistry.scoped` view as its
request's registry. Every resolver, loader and list reaches sources only through the
request's registry, so a source outside the view does not exist for that client: its IDs
are refused like those of an unknown source, lists cannot select it, ``sources`` does
not name it, and its cache entries (reached only through its connector) are never read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterator, Sequence

from connectors.base import Connector
from resolvers.errors import InvalidArgumentError, InvalidIdError

__all__ = ["SourceRegistry"]


class SourceRegistry:
    """Connectors by source name; opens and closes them with the server."""

    def __init__(self, connectors: Sequence[Connector]) -> None:
        self._connectors = {connector.name: connector for connector in connectors}
        if len(self._connectors) != len(connectors):
            raise ValueError("source names must be unique")

    def __iter__(self) -> Iterator[Connector]:
        return iter(self._connectors.values())

    @property
    def names(self) -> list[str]:
        return list(self._connectors)

    def scoped(self, names: Collection[str] | None) -> SourceRegistry:
        """The sources in ``names`` only (all when None), for one client's requests."""
        if names is None:
            return self
        return SourceRegistry([c for name, c in self._connectors.items() if name in names])

    def get(self, name: str) -> Connector:
        """The connector of a source named in a global ID."""
        try:
            return self._connectors[name]
        except KeyError:
            raise InvalidIdError(f"ID names source {name!r}, which is not configured") from None

    def select(self, names: Sequence[str] | None) -> list[Connector]:
        """The sources a list argument asks for (all when None), in configuration order."""
        if names is None:
            return list(self._connectors.values())
        unknown = sorted(set(names) - set(self._connectors))
        if unknown:
            known = ", ".join(self._connectors) or "none"
            raise InvalidArgumentError(
                f"unknown source(s) {', '.join(map(repr, unknown))}; configured: {known}"
            )
        return [c for name, c in self._connectors.items() if name in set(names)]

    async def open(self) -> None:
        await asyncio.gather(*(connector.open() for connector in self._connectors.values()))

    async def close(self) -> None:
        await asyncio.gather(*(connector.close() for connector in self._connectors.values()))
