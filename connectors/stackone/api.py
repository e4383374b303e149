"""Calls to StackOne's unified LMS API: one page, every page, one record, bounded fan-out.

Everything goes through :class:`~connectors._http.HttpTransport`. StackOne's ``next`` is
a cursor sent back as the ``next`` query parameter, never a URL: no vendor-supplied
address is ever requested, so credentials only go to the configured base URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from typing import TypeVar
from urllib.parse import quote

from pydantic import TypeAdapter

from connectors._http import HttpTransport
from connectors.errors import VendorBadResponse, VendorNotFound
from connectors.fanout import gather_bounded
from connectors.pagination import BodyCursorPaginator, RepeatedTokenError
from connectors.stackone.payloads import StackOneItem, StackOneList

__all__ = ["StackOneApi", "record_path"]

T = TypeVar("T")


def record_path(collection: str, record_id: str, *rest: str) -> str | None:
    """``/collection/<id>[/rest…]`` with the ID quoted as one path segment.

    Returns None for an ID that cannot name a record (empty, ``.`` or ``..``): URL
    normalisation would turn those into another endpoint.
    """
    if record_id in ("", ".", ".."):
        return None
    return "/".join(("", collection, quote(record_id, safe=""), *rest))


class StackOneApi:
    """Reads pages and records; per-ID calls share one semaphore per connector.

    Paths given to its methods are below ``prefix`` (``/users``, ``/content/{id}`` …).

    Args:
        http: The opened transport (base URL, auth, error table).
        prefix: The API's path below the base URL, ``/unified/lms``.
        page_size: The ``page_size`` of full walks (the vendor's maximum).
        max_concurrency: Calls of one connector in flight at once during fan-outs.
    """

    def __init__(
        self, http: HttpTransport, *, prefix: str, page_size: int, max_concurrency: int
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        self._http = http
        self._prefix = prefix
        self._page_size = page_size
        self._slots = asyncio.Semaphore(max_concurrency)

    async def page(
        self, path: str, params: Mapping[str, str], adapter: TypeAdapter[StackOneList[T]]
    ) -> StackOneList[T]:
        """One list page, validated."""
        path = self._prefix + path
        return await self._http.get_model(path, params, adapter)

    async def walk(
        self,
        path: str,
        params: Mapping[str, str],
        adapter: TypeAdapter[StackOneList[T]],
        *,
        missing_ok: bool = False,
    ) -> list[T]:
        """Every item of a list, following ``next`` until it is null or empty.

        A short (even empty) page with a ``next`` is not the end: StackOne returns a
        cursor early when the provider is slow or filters after fetching.

        Args:
            path: The list's path.
            params: Filters, sent with every page.
            adapter: Validator of one page.
            missing_ok: Read a 404 on the first page as an empty list (a per-user list
                of a user StackOne does not know).
        """
        paginator = BodyCursorPaginator(lambda page: page.next)
        token, items = paginator.first_token(), []
        while True:
            page_params = {**params, "page_size": str(self._page_size)}
            if token is not None:
                page_params["next"] = token
            try:
                page = await self.page(path, page_params, adapter)
            except VendorNotFound:
                if missing_ok and token is None:
                    return []
                raise
            items.extend(page.data)
            try:
                token = paginator.next_token(page)
            except RepeatedTokenError as exc:
                raise self._http.error(
                    VendorBadResponse,
                    "pagination cursor repeated",
                    method="GET",
                    path=self._prefix + path,
                ) from exc
            if token is None:
                return items

    async def one(self, path: str | None, adapter: TypeAdapter[StackOneItem[T]]) -> T | None:
        """The record at ``path``, or None when StackOne says 404 (or the path is None)."""
        (found,) = await self.many([path], adapter)
        return found

    async def many(
        self, paths: Sequence[str | None], adapter: TypeAdapter[StackOneItem[T]]
    ) -> list[T | None]:
        """:meth:`one` for each path, at most ``max_concurrency`` at once, in path order."""
        found = await self.bounded([self._item_or_none(path, adapter) for path in paths])
        return [None if item is None else item.data for item in found]

    async def _item_or_none(
        self, path: str | None, adapter: TypeAdapter[StackOneItem[T]]
    ) -> StackOneItem[T] | None:
        """One record's envelope, or None for a 404 or no path."""
        if path is None:
            return None
        try:
            return await self._http.get_model(self._prefix + path, None, adapter)
        except VendorNotFound:
            return None

    async def bounded(self, calls: Sequence[Awaitable[T]]) -> list[T]:
        """Await every call, at most ``max_concurrency`` of them at once, results in order."""
        return await gather_bounded(self._slots, calls)
