"""The Skilljar connector: next-link paging, per-ID fan-out, course progress as progressions.

Skilljar has no batch look-up and no "changed since" filter. Look-ups fan out one call
per ID, at most ``max_concurrency`` of one connector at once; ``updated_after`` is applied
to the mapped records after reading. Progressions are read per user (one call returns
every course of that user), so a page of progressions costs one users page plus one call
per user on it: the fan-out of one page, never more. Skilljar deletes for good (no
tombstones), so ``include_deleted`` changes nothing.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from pydantic import SecretStr, TypeAdapter

from connectors._http import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, HttpTransport, RetryPolicy
from connectors.base import FREE, CallPrice, Capabilities, ListQuery, Lookup, Page, Pricing
from connectors.breaker import CircuitBreaker
from connectors.errors import (
    ConnectorError,
    VendorBadResponse,
    VendorNotFound,
    VendorRejectedRequest,
)
from connectors.fanout import gather_bounded
from connectors.model import Course, EntityKind, Progression, Record, Skill, User
from connectors.pagination import RepeatedTokenError
from connectors.skilljar import payloads
from connectors.skilljar.auth import SkilljarAuth
from connectors.skilljar.error_codes import SKILLJAR_ERRORS, skilljar_error_code
from connectors.skilljar.mapping import (
    is_skilljar_id,
    map_course,
    map_progression,
    map_user,
    split_progression_key,
)
from connectors.skilljar.paging import (
    ForeignLinkError,
    NextLinkPaginator,
    link_token,
    split_skip,
    token_request,
    with_skip,
)

__all__ = ["MAX_CONCURRENCY", "SkilljarConnector"]

# Vendor facts this client relies on; shared/vendors/skilljar.md has the sources.
# UNVERIFIED: Skilljar documents default page sizes (100 or 1000) but no maximum; one page
# of a list asks for at most the smaller default, so what we ask for is what we get.
MAX_PAGE_SIZE = 100
# UNVERIFIED: whether `/v1/users` honours `page_size`: Skilljar's spec declares none there
# (cursor paging by default), so a users page may be larger than asked; progressions
# fan out to the users asked for only (see list_progressions). The same spec types that
# list as a bare array while describing `next` links; both shapes are read.
# Walks follow `next` to the end, so a lower cap at Skilljar (UNVERIFIED) only costs pages;
# 1000 is the documented default of the per-user progress and enrolment lists.
WALK_PAGE_SIZE = 1000
# No batch endpoint: a loader batch of this many IDs becomes as many calls, `max_concurrency`
# of them at once.
MAX_BATCH_SIZE = 100
MAX_PAGES = 1000  # a walk that has not ended after this many pages is a vendor loop
# Calls of one source in flight at once during a fan-out: one second's share of the rate
# limit, "bursts up to 600 calls per minute, up to 5,000 per hour" (UNVERIFIED: stated by a
# third-party connector page, not by Skilljar's own documents). At one second per call
# that is the limit exactly; faster calls spend the minute's budget as a burst, and a 429
# is retried after its Retry-After.
MAX_CONCURRENCY = 10
# UNVERIFIED: that `course__id` filters published courses (in the spec, not the reference
# text); we keep only the course's own either way.
# UNVERIFIED: whether `/v1/users?email=` matches case-insensitively; we compare again here.
# UNVERIFIED: v1 error bodies beyond the spec's 404; we expect DRF's `{"detail": msg}`
# and classify its messages by the table in `error_codes.py` (SKILLJAR_ERRORS).

#: No batch calls: one call per ID. Courses come with the domain's published courses
#: (one walk), progressions per user (one progress walk each).
_PER_ID = CallPrice(per_call=1)
PRICING = Pricing(
    pages={
        EntityKind.USERS: CallPrice(per_call=MAX_PAGE_SIZE),
        EntityKind.COURSES: CallPrice(per_call=MAX_PAGE_SIZE, fixed=1),
        EntityKind.SKILLS: FREE,
        EntityKind.PROGRESSIONS: CallPrice(per_call=MAX_PAGE_SIZE, per_key=1),
    },
    lookups={
        Lookup.USERS: _PER_ID,
        Lookup.COURSES: CallPrice(per_call=1, fixed=1),
        Lookup.SKILLS: FREE,
        Lookup.PROGRESSIONS: _PER_ID,
        Lookup.USERS_BY_EMAIL: _PER_ID,
        Lookup.PROGRESSIONS_OF_USERS: _PER_ID,
        # per course its published courses and their enrolments, then each learner's progress
        Lookup.PROGRESSIONS_OF_COURSES: CallPrice(per_call=1, per_key=2, results_per_call=1),
    },
)

T = TypeVar("T")
U = TypeVar("U")
RecordT = TypeVar("RecordT", bound=Record)


def _seg(value: str) -> str:
    """One path segment: an ID can never reach another endpoint."""
    return quote(value, safe="")


def _filtered(records: list[RecordT], query: ListQuery) -> list[RecordT]:
    """Skilljar cannot filter by change date: keep what changed after ``updated_after``."""
    since = query.updated_after
    if since is None:
        return records
    if since.tzinfo is None:  # naive means UTC, as for the other vendors
        since = since.replace(tzinfo=UTC)
    return [r for r in records if r.updated_at is not None and r.updated_at > since]


async def _together(first: Awaitable[T], second: Awaitable[U]) -> tuple[T, U]:
    """Both at once; a failure is raised once both are done, so neither outlives the call."""
    one, two = await asyncio.gather(first, second, return_exceptions=True)
    if isinstance(one, BaseException):
        raise one
    if isinstance(two, BaseException):
        raise two
    return one, two


class SkilljarConnector:
    """Reads users, courses with their published courses, and course progress from Skilljar.

    Args:
        name: The configured source's name.
        base_url: Skilljar's API root, e.g. ``https://api.skilljar.com`` (paths add ``/v1``).
        api_key: The organisation's API key.
        domain: The domain whose published courses are this source's revisions.
        max_concurrency: Calls of this connector in flight at once during a fan-out.
        retry: Backoff of retriable failures.
        timeout: Time limits of one call.
    """

    kind = "skilljar"
    capabilities = Capabilities(
        max_page_size=MAX_PAGE_SIZE, max_batch_size=MAX_BATCH_SIZE, pricing=PRICING
    )

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        api_key: SecretStr,
        domain: str,
        max_concurrency: int = MAX_CONCURRENCY,
        retry: RetryPolicy | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
        breaker: CircuitBreaker | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.name = name
        self.tenant = domain
        self.breaker = breaker or CircuitBreaker()
        self._published_path = f"/v1/domains/{_seg(domain)}/published-courses"
        self._slots = asyncio.Semaphore(max_concurrency)
        self._http = HttpTransport(
            source=name,
            vendor=self.kind,
            base_url=base_url.rstrip("/"),
            auth=SkilljarAuth(api_key),
            error_code_of=skilljar_error_code,
            vendor_errors=SKILLJAR_ERRORS,
            retry=retry or RetryPolicy(),
            timeout=timeout or DEFAULT_TIMEOUT,
            breaker=self.breaker,
            max_response_bytes=max_response_bytes,
        )

    async def open(self) -> None:
        await self._http.open()

    async def close(self) -> None:
        await self._http.close()

    async def check_health(self) -> None:
        await self._http.get_json("/v1/ping")

    # -- one page at a time ------------------------------------------------------------

    async def list_users(self, query: ListQuery, token: str | None, size: int) -> Page[User]:
        page = await self._page("/v1/users", token, size, payloads.USERS_PAGE)
        users = _filtered([map_user(item) for item in page.results], query)
        total = page.count if query.updated_after is None else None
        return Page(users, self._token("/v1/users", page), total)

    async def list_courses(self, query: ListQuery, token: str | None, size: int) -> Page[Course]:
        page, published = await _together(
            self._page("/v1/courses", token, size, payloads.COURSES_PAGE), self._published()
        )
        courses = [map_course(c, published.get(c.id, [])) for c in page.results]
        total = page.count if query.updated_after is None else None
        return Page(_filtered(courses, query), self._token("/v1/courses", page), total)

    async def list_skills(self, query: ListQuery, token: str | None, size: int) -> Page[Skill]:
        return Page([], None, 0)  # Skilljar has labels, not skills

    async def list_progressions(
        self, query: ListQuery, token: str | None, size: int
    ) -> Page[Progression]:
        # The fan-out is one call per user, so it covers at most `size` users even when
        # Skilljar serves a larger page (its spec declares no `page_size` on /v1/users);
        # the next token then resumes inside that page.
        try:
            users_token, skip = split_skip(token)
        except ForeignLinkError as exc:
            raise self._error(VendorRejectedRequest, str(exc), "/v1/users") from exc
        page = await self._page("/v1/users", users_token, size, payloads.USERS_PAGE)
        users = page.results[skip : skip + size]
        grouped = await self.fetch_progressions_of_users([item.user.id for item in users])
        rows = [p for group in grouped.values() for p in group]
        if skip + size < len(page.results):
            return Page(_filtered(rows, query), with_skip(users_token, skip + size))
        return Page(_filtered(rows, query), self._token("/v1/users", page))

    # -- batched look-ups: one call per ID, bounded --------------------------------------

    async def fetch_users(self, ids: Sequence[str]) -> Mapping[str, User]:
        found = await self._each(ids, lambda i: self._one(f"/v1/users/{_seg(i)}", payloads.USER))
        return {key: map_user(item) for key, item in found.items() if item is not None}

    async def fetch_courses(self, ids: Sequence[str]) -> Mapping[str, Course]:
        if not any(is_skilljar_id(i) for i in ids):
            return {}
        found, published = await _together(
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
        parts = {key: split_progression_key(key) for key in ids}

        async def one(key: str) -> Progression | None:
            user_id, published_id = parts[key] or ("", "")
            path = f"/v1/users/{_seg(user_id)}/published-courses/{_seg(published_id)}"
            item = await self._one(path, payloads.PROGRESS)
            if item is None or not self._ours(item):
                return None
            return map_progression(user_id, item)

        # A key this connector did not issue names nothing: absent without a call.
        found = await self._each([key for key, p in parts.items() if p], one, check=False)
        return {key: p for key, p in found.items() if p is not None}

    async def fetch_users_by_email(self, emails: Sequence[str]) -> Mapping[str, Sequence[User]]:
        async def one(email: str) -> list[User]:
            items = await self._walk("/v1/users", {"email": email}, payloads.USERS_PAGE)
            users = [map_user(item) for item in items]
            return [u for u in users if u.email is not None and u.email.lower() == email]

        found = await self._each(emails, one, check=False)
        return {email: found.get(email) or [] for email in emails}

    async def fetch_progressions_of_users(
        self, user_ids: Sequence[str]
    ) -> Mapping[str, Sequence[Progression]]:
        async def one(user_id: str) -> list[Progression]:
            path = f"/v1/users/{_seg(user_id)}/published-courses"
            items = await self._walk(path, {}, payloads.PROGRESS_PAGE, missing_ok=True)
            return [map_progression(user_id, item) for item in items if self._ours(item)]

        found = await self._each(user_ids, one)
        return {user_id: found.get(user_id) or [] for user_id in user_ids}

    async def fetch_progressions_of_courses(
        self, course_ids: Sequence[str]
    ) -> Mapping[str, Sequence[Progression]]:
        async def published_of(course_id: str) -> list[payloads.PublishedCourse]:
            params = {"course__id": course_id}
            items = await self._walk(self._published_path, params, payloads.PUBLISHED_PAGE)
            return [p for p in items if p.course.id == course_id]  # in case the filter is not

        async def enrolled_in(published_id: str) -> list[payloads.Enrollment]:
            path = f"{self._published_path}/{_seg(published_id)}/enrollments"
            return await self._walk(path, {}, payloads.ENROLLMENTS_PAGE, missing_ok=True)

        published = await self._each(course_ids, published_of)
        wanted = {p.id: p.course.id for group in published.values() for p in group}
        enrolled = await self._each(list(wanted), enrolled_in)
        users = [e.user.id for group in enrolled.values() for e in group]
        progress = await self.fetch_progressions_of_users(list(dict.fromkeys(users)))
        grouped: dict[str, list[Progression]] = defaultdict(list)
        for rows in progress.values():
            for row in rows:
                if row.revision_id in wanted:
                    grouped[wanted[row.revision_id]].append(row)
        return {course_id: grouped.get(course_id, []) for course_id in course_ids}

    # -- plumbing --------------------------------------------------------------------------

    def _error(self, cls: type[ConnectorError], detail: str, path: str) -> ConnectorError:
        return self._http.error(cls, detail, method="GET", path=path)

    def _ours(self, item: payloads.Progress) -> bool:
        """A user's progress spans every domain; only the configured one is this source's."""
        return item.domain_name in (None, self.tenant)

    async def _page(self, path: str, token: str | None, size: int, adapter: TypeAdapter[T]) -> T:
        if token is None:
            params = {"page_size": str(max(1, min(size, MAX_PAGE_SIZE)))}
            return await self._http.get_model(path, params, adapter)
        try:
            token_path, params = token_request(path, token)
        except ForeignLinkError as exc:
            raise self._error(VendorRejectedRequest, str(exc), path) from exc
        return await self._http.get_model(token_path, params, adapter)

    def _token(self, path: str, page: payloads.SkilljarPage[Any]) -> str | None:
        try:
            return link_token(self._http.base_url, path, page.next)
        except ForeignLinkError as exc:
            raise self._error(VendorBadResponse, str(exc), path) from exc

    async def _one(self, path: str, adapter: TypeAdapter[T]) -> T | None:
        try:
            return await self._http.get_model(path, None, adapter)
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
        paginator = NextLinkPaginator(self._http.base_url, path)
        items: list[T] = []
        first = {**params, "page_size": str(WALK_PAGE_SIZE)}
        current: tuple[str, Mapping[str, str]] = (path, first)
        for _ in range(MAX_PAGES):
            try:
                page = await self._http.get_model(*current, adapter)
            except VendorNotFound:
                if missing_ok and not items:
                    return []
                raise
            items.extend(page.results)
            try:
                token = paginator.next_token(page)
            except (ForeignLinkError, RepeatedTokenError) as exc:
                raise self._error(VendorBadResponse, str(exc), path) from exc
            if token is None:
                return items
            current = token_request(path, token)
        raise self._error(VendorBadResponse, "pagination did not end", path)

    async def _published(self) -> dict[str, list[payloads.PublishedCourse]]:
        """The domain's published courses, by course: the revisions of every course."""
        grouped: dict[str, list[payloads.PublishedCourse]] = defaultdict(list)
        async with self._slots:  # read beside a fan-out: one of its calls in flight
            found = await self._walk(self._published_path, {}, payloads.PUBLISHED_PAGE)
        for published in found:
            grouped[published.course.id].append(published)
        return grouped

    async def _each(
        self, keys: Sequence[str], call: Callable[[str], Awaitable[T]], *, check: bool = True
    ) -> dict[str, T]:
        """``call(key)`` for every distinct key, at most ``max_concurrency`` at once.

        With ``check``, keys that cannot be Skilljar IDs are left out without a call.
        """
        unique = [k for k in dict.fromkeys(keys) if not check or is_skilljar_id(k)]
        results = await gather_bounded(self._slots, [call(key) for key in unique])
        return dict(zip(unique, results, strict=True))
