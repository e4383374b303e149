"""The Skilljar connector: page-number and cursor paging, per-ID fan-out, course progress.

Skilljar has no batch look-up and no "changed since" filter. Look-ups fan out one call
per ID, at most ``max_concurrency`` of one connector at once; ``updated_after`` is applied
to the mapped records after reading. Progressions are read per user (one call returns
every course of that user), so a page of progressions costs one users page plus one call
per user on it: the fan-out of one page, never more.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import SecretStr, TypeAdapter
from yarl import URL

from connectors._http import HttpTransport, RetryPolicy
from connectors.base import Capabilities, ListQuery, Page
from connectors.errors import VendorBadResponse, VendorNotFound
from connectors.fanout import gather_bounded
from connectors.model import Course, Progression, Record, Skill, User
from connectors.skilljar import payloads
from connectors.skilljar.auth import SkilljarAuth
from connectors.skilljar.mapping import (
    map_course,
    map_progression,
    map_user,
    split_progression_key,
)

__all__ = ["SkilljarConnector"]

# Vendor facts this client relies on; shared/vendors/skilljar.md has the sources.
# UNVERIFIED: Skilljar documents default page sizes (100 or 1000) but no maximum.
MAX_PAGE_SIZE = 100
# UNVERIFIED: whether `/v1/users?email=` matches case-insensitively; we compare again here.
MAX_PAGES = 1000  # a walk that has not ended after this many pages is a vendor loop

T = TypeVar("T")
RecordT = TypeVar("RecordT", bound=Record)


def _seg(value: str) -> str:
    """One path segment: an ID can never reach another endpoint."""
    return quote(value, safe="")


def _filtered(records: list[RecordT], query: ListQuery) -> list[RecordT]:
    """Skilljar cannot filter by change date: keep what changed after ``updated_after``."""
    since = query.updated_after
    if since is None:
        return records
    return [r for r in records if r.updated_at is not None and r.updated_at > since]


class SkilljarConnector:
    """Reads users, courses with their published courses, and course progress from Skilljar."""

    kind = "skilljar"
    capabilities = Capabilities(max_page_size=MAX_PAGE_SIZE, max_batch_size=100)

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        api_key: SecretStr,
        domain: str,
        max_concurrency: int = 8,
        retry: RetryPolicy | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
    ) -> None:
        self.name = name
        self.tenant = domain
        self._domain = quote(domain, safe="")
        self._slots = asyncio.Semaphore(max_concurrency)
        self._http = HttpTransport(
            source=name,
            vendor=self.kind,
            base_url=base_url.rstrip("/"),
            auth=SkilljarAuth(api_key),
            error_code_of=lambda _body: None,
            retry=retry or RetryPolicy(),
            timeout=timeout or aiohttp.ClientTimeout(total=20, connect=5),
        )

    async def open(self) -> None:
        await self._http.open()

    async def close(self) -> None:
        await self._http.close()

    async def check_health(self) -> None:
        await self._http.get_json("/v1/ping")

    # -- one page at a time ------------------------------------------------------------

    async def list_users(self, query: ListQuery, token: str | None, size: int) -> Page[User]:
        page = await self._users_page(token, size)
        users = [map_user(item) for item in page.results]
        total = page.count if query.updated_after is None else None
        return Page(_filtered(users, query), self._token_of(page.next), total)

    async def list_courses(self, query: ListQuery, token: str | None, size: int) -> Page[Course]:
        path, params = self._start("/v1/courses", token, size, {"page": "1"})
        page = await self._get(path, params, payloads.COURSES_PAGE)
        published = await self._published()
        courses = [map_course(c, published.get(c.id, [])) for c in page.results]
        total = page.count if query.updated_after is None else None
        return Page(_filtered(courses, query), self._token_of(page.next), total)

    async def list_skills(self, query: ListQuery, token: str | None, size: int) -> Page[Skill]:
        return Page([], None, 0)  # Skilljar has labels, not skills

    async def list_progressions(
        self, query: ListQuery, token: str | None, size: int
    ) -> Page[Progression]:
        page = await self._users_page(token, size)
        grouped = await self.fetch_progressions_of_users([item.user.id for item in page.results])
        rows = [p for group in grouped.values() for p in group]
        return Page(_filtered(rows, query), self._token_of(page.next))

    # -- batched look-ups: one call per ID, bounded --------------------------------------

    async def fetch_users(self, ids: Sequence[str]) -> Mapping[str, User]:
        found = await self._each(ids, lambda i: self._one(f"/v1/users/{_seg(i)}", payloads.USER))
        return {key: map_user(item) for key, item in found.items() if item is not None}

    async def fetch_courses(self, ids: Sequence[str]) -> Mapping[str, Course]:
        if not ids:
            return {}
        found, published = await asyncio.gather(
            self._each(ids, lambda i: self._one(f"/v1/courses/{_seg(i)}", payloads.COURSE)),
            self._published(),
        )
        return {
            key: map_course(course, published.get(course.id, []))
            for key, course in found.items()
            if course is not None
        }

    async def fetch_skills(self, ids: Sequence[str]) -> Mapping[str, Skill]:
        return {}

    async def fetch_progressions(self, ids: Sequence[str]) -> Mapping[str, Progression]:
        async def one(key: str) -> Progression | None:
            parts = split_progression_key(key)
            if parts is None:
                return None
            user_id, published_id = parts
            path = f"/v1/users/{_seg(user_id)}/published-courses/{_seg(published_id)}"
            item = await self._one(path, payloads.PROGRESS)
            return map_progression(user_id, item) if item is not None else None

        found = await self._each(ids, one)
        return {key: p for key, p in found.items() if p is not None}

    async def fetch_users_by_email(self, emails: Sequence[str]) -> Mapping[str, Sequence[User]]:
        async def one(email: str) -> list[User]:
            items = await self._walk("/v1/users", {"email": email}, payloads.USERS_PAGE)
            users = [map_user(item) for item in items]
            return [u for u in users if u.email is not None and u.email.lower() == email]

        found = await self._each(emails, one)
        return {email: found.get(email) or [] for email in emails}

    async def fetch_progressions_of_users(
        self, user_ids: Sequence[str]
    ) -> Mapping[str, Sequence[Progression]]:
        async def one(user_id: str) -> list[Progression]:
            path = f"/v1/users/{_seg(user_id)}/published-courses"
            items = await self._walk(path, {}, payloads.PROGRESS_PAGE, missing_ok=True)
            domain = self.tenant  # a user's progress spans domains; only ours is this source's
            return [
                map_progression(user_id, item)
                for item in items
                if item.domain_name in (None, domain)
            ]

        found = await self._each(user_ids, one)
        return {user_id: found.get(user_id) or [] for user_id in dict.fromkeys(user_ids)}

    async def fetch_progressions_of_courses(
        self, course_ids: Sequence[str]
    ) -> Mapping[str, Sequence[Progression]]:
        published = await self._published()
        wanted = {p.id: course_id for course_id in course_ids for p in published.get(course_id, [])}
        base = f"/v1/domains/{self._domain}/published-courses"
        enrolled = await self._each(
            list(wanted),
            lambda p: self._walk(f"{base}/{_seg(p)}/enrollments", {}, payloads.ENROLLMENTS_PAGE),
        )
        users = list(dict.fromkeys(e.user.id for group in enrolled.values() for e in group or []))
        progress = await self.fetch_progressions_of_users(users)
        grouped: dict[str, list[Progression]] = defaultdict(list)
        for rows in progress.values():
            for row in rows:
                if row.revision_id in wanted:
                    grouped[wanted[row.revision_id]].append(row)
        return {course_id: grouped.get(course_id, []) for course_id in dict.fromkeys(course_ids)}

    # -- plumbing --------------------------------------------------------------------------

    async def _users_page(
        self, token: str | None, size: int
    ) -> payloads.SkilljarPage[payloads.UserItem]:
        path, params = self._start("/v1/users", token, size, {})
        return await self._get(path, params, payloads.USERS_PAGE)

    def _start(
        self, path: str, token: str | None, size: int, first: Mapping[str, str]
    ) -> tuple[str, dict[str, str]]:
        if token is not None:
            return self._split(token)
        return path, {**first, "page_size": str(max(1, min(size, MAX_PAGE_SIZE)))}

    def _token_of(self, next_url: str | None) -> str | None:
        """A ``next`` link as our token: only ever a path below the configured base URL."""
        if not next_url:
            return None
        base = URL(self._http.base_url)
        link = URL(next_url)
        if (link.scheme, link.host, link.port) != (base.scheme, base.host, base.port) or not (
            link.path.startswith(base.path.rstrip("/") + "/")
        ):
            raise self._http.error(VendorBadResponse, "next link points outside the API")
        return str(link.relative())[len(base.path.rstrip("/")) :]

    @staticmethod
    def _split(token: str) -> tuple[str, dict[str, str]]:
        link = URL(token)
        return link.path, dict(link.query)

    async def _get(self, path: str, params: Mapping[str, str], adapter: TypeAdapter[T]) -> T:
        return await self._http.get_model(path, params, adapter)

    async def _one(self, path: str, adapter: TypeAdapter[T]) -> T | None:
        try:
            return await self._get(path, {}, adapter)
        except VendorNotFound:
            return None

    async def _walk(
        self,
        path: str,
        params: Mapping[str, str],
        adapter: TypeAdapter[payloads.SkilljarPage[T]],
        *,
        missing_ok: bool = False,
    ) -> list[T]:
        """Every item of a list, following ``next`` links (checked) to the last page."""
        items: list[T] = []
        current: tuple[str, Mapping[str, str]] = (path, {**params, "page_size": str(MAX_PAGE_SIZE)})
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            try:
                page = await self._get(*current, adapter)
            except VendorNotFound:
                if missing_ok and not items:
                    return []
                raise
            items.extend(page.results)
            token = self._token_of(page.next)
            if token is None:
                return items
            if token in seen:
                raise self._http.error(VendorBadResponse, "pagination link repeated", path=path)
            seen.add(token)
            current = self._split(token)
        raise self._http.error(VendorBadResponse, "pagination did not end", path=path)

    async def _published(self) -> dict[str, list[payloads.PublishedCourse]]:
        """The domain's published courses, by course: the revisions of every course."""
        path = f"/v1/domains/{self._domain}/published-courses"
        grouped: dict[str, list[payloads.PublishedCourse]] = defaultdict(list)
        for published in await self._walk(path, {}, payloads.PUBLISHED_PAGE):
            grouped[published.course.id].append(published)
        return grouped

    async def _each(self, keys: Sequence[str], call: Callable[[str], Awaitable[T]]) -> dict[str, T]:
        """``call(key)`` for every distinct key, at most ``max_concurrency`` at once."""
        unique = list(dict.fromkeys(keys))
        results = await gather_bounded(self._slots, [call(key) for key in unique])
        return dict(zip(unique, results, strict=True))
