"""Providers have no endpoint of their own at any vendor: they are found on courses."""

from __future__ import annotations

from collections.abc import Sequence

from connectors.base import ListQuery
from connectors.model import EntityKind, Provider
from resolvers.context import Context

__all__ = ["MAX_COURSE_PAGES", "find_providers"]

#: A provider look-up reads at most this many course pages per source (250 courses each).
MAX_COURSE_PAGES = 20


async def find_providers(
    context: Context, wanted: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], Provider]:
    """Providers by (source, provider ID), found by reading the sources' course lists."""
    found: dict[tuple[str, str], Provider] = {}
    for source in dict.fromkeys(source for source, _ in wanted):
        connector = context.sources.get(source)
        missing = {key for s, key in wanted if s == source}
        token: str | None = None
        for _ in range(MAX_COURSE_PAGES):
            page = await connector.list_courses(
                ListQuery(include_deleted=True), token, connector.capabilities.max_page_size
            )
            context.loaders.of(source).prime(EntityKind.COURSES, page.items)
            for course in page.items:
                provider = course.provider
                if provider is not None and provider.id in missing:
                    found[(source, provider.id)] = provider
                    missing.discard(provider.id)
            token = page.next_token
            if not missing or token is None:
                break
    return found
