"""The Absorb connector: Integration API v2 users, courses and course enrollments.

Absorb has no list of all enrollments, so the top-level progressions list reads one page
of users and their enrollments through the bulk call: two vendor calls per page. It sends
no next links (pages are indexed), so no vendor-supplied URL is ever followed.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

import aiohttp
from multidict import MultiDict
from pydantic import SecretStr, TypeAdapter, ValidationError
from yarl import URL

from connectors._http import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_TIMEOUT,
    Auth,
    HttpTransport,
    RetryPolicy,
)
from connectors.absorb import payloads
from connectors.absorb.auth import AbsorbKeyAuth, AbsorbTokenAuth
from connectors.absorb.filters import (
    absorb_datetime,
    edited_after,
    email_filter,
    guids,
    id_filter,
)
from connectors.absorb.mapping import is_current, map_course, map_progression, map_user
from connectors.absorb.paging import PageIndex
from connectors.absorb.tokens import TokenStore
from connectors.base import FREE, CallPrice, Capabilities, ListQuery, Lookup, Page, Pricing
from connectors.breaker import CircuitBreaker
from connectors.errors import (
    ConnectorError,
    VendorAuthError,
    VendorNotFound,
    VendorRateLimited,
    VendorRejectedRequest,
)
from connectors.fanout import distinct_chunks, gather_bounded
from connectors.model import Course, EntityKind, Progression, Record, Skill, User

__all__ = ["ABSORB_ERRORS", "MAX_CONCURRENCY", "AbsorbConnector", "absorb_error_code"]

# Vendor facts this client relies on; shared/vendors/absorb.md has the sources.
# UNVERIFIED, all of it: Absorb publishes no machine-readable (OpenAPI) description, so
# unlike Kombo, StackOne and Skilljar its paths, parameters and response shapes
# (payloads.py) follow the human-readable v2 reference and are not checked by the
# spec-conformance tests. Records are still read one by one (one without an ID is
# skipped and reported), as at every vendor.
MAX_PAGE_SIZE = 1000  # documented maximum of `_limit`; `_offset` is a 0-based PAGE index
TOKEN_LIFETIME = 4 * 3600.0  # documented: a token is valid 4 hours from issue
# Documented ("only one token exists per user"): a login invalidates the user's previous
# token, so every process reading one portal shares one token (connectors/absorb/tokens.py);
# the emulator does the same. UNVERIFIED: whether an OAuth token of the same user is spared
# (we use /authenticate only), and whether Absorb ends a token early in other cases.
TOKEN_RENEW_EARLY = 5 * 60.0  # ours: renew before Absorb and our clock disagree
# UNVERIFIED: the v2 path of "List course enrollments for bulk user list" (seen in a v1.5
# suite only), its repeated-key encoding `userIds=a&userIds=b` (ASP.NET's default
# binding) and its maximum list size: 50 GUIDs keep the query near 2.3 KB.
BULK_ENROLLMENTS_PATH = "/bulk/studentcourses"
MAX_USERS_PER_BULK = 50
# UNVERIFIED: the v2 path of "List enrollments for specific course" (its operation is in
# the v2 reference, the path in the v1.5 guide). A course's learners are read with it, one
# paginated list per course, rather than the bulk call's `courseIds`: the bulk answer is one
# unpaginated array, unbounded for a popular course.
COURSE_ENROLLMENTS_PATH = "/courses/{course_id}/enrollments"
# UNVERIFIED: how many `or` clauses (URL length) `_filter` takes; 50 ID clauses are about
# 2.8 KB encoded, far below common 8 KB URL limits.
MAX_IDS_PER_FILTER = 50
# `modifiedSince` is marked deprecated on the paginated lists and replaced by
# `_filter=dateEdited gt datetime'…'`; we send the documented current form. UNVERIFIED:
# that `dateEdited` is filterable on /users and /courses too.
UPDATED_AFTER_STYLE: Literal["_filter", "modifiedSince"] = "_filter"
# Calls of one source in flight at once. UNVERIFIED: Absorb's rate limit, 200 requests per
# second with a burst of about 100 before 429, is stated by third-party summaries only; a
# fan-out of 100 fits that burst. (aiohttp's pool holds 100 connections, so more would wait.)
MAX_CONCURRENCY = 100

#: Absorb's ``GenericErrorResponse.code``; UNVERIFIED that it repeats the HTTP status, so
#: only codes that agree with their documented statuses are listed.
ABSORB_ERRORS: Mapping[str, type[ConnectorError]] = {
    "401": VendorAuthError,
    "403": VendorAuthError,  # portal disabled
    "404": VendorNotFound,
    "422": VendorRejectedRequest,  # e.g. a field in `_filter` that cannot be filtered
    "429": VendorRateLimited,
}

#: Logins (one per 4 hours) are left out: they are not a cost of one query.
_FILTERED = CallPrice(per_call=MAX_IDS_PER_FILTER, results_per_call=MAX_PAGE_SIZE)
PRICING = Pricing(
    pages={
        EntityKind.USERS: CallPrice(per_call=MAX_PAGE_SIZE),
        EntityKind.COURSES: CallPrice(per_call=MAX_PAGE_SIZE),
        EntityKind.SKILLS: FREE,
        # a page of at most 50 users, then their bulk enrolments
        EntityKind.PROGRESSIONS: CallPrice(per_call=MAX_USERS_PER_BULK, calls=2),
    },
    lookups={
        Lookup.USERS: _FILTERED,
        Lookup.COURSES: _FILTERED,
        Lookup.SKILLS: FREE,
        Lookup.PROGRESSIONS: CallPrice(per_call=1),
        Lookup.USERS_BY_EMAIL: _FILTERED,
        Lookup.PROGRESSIONS_OF_USERS: CallPrice(per_call=MAX_USERS_PER_BULK),
        Lookup.PROGRESSIONS_OF_COURSES: CallPrice(per_call=1),
    },
)

PayloadT = TypeVar("PayloadT", bound=payloads.AbsorbRecord)
RecordT = TypeVar("RecordT", bound=Record)
T = TypeVar("T")


def absorb_error_code(body: Any) -> str | None:
    try:
        code = payloads.AbsorbErrorBody.model_validate(body).code
    except ValidationError:
        return None
    return str(code) if code else None


def _tenant_of(base_url: str, username: str) -> str:
    url = URL(base_url)
    host = url.host or base_url
    return f"{host}:{url.explicit_port}/{username}" if url.explicit_port else f"{host}/{username}"


def _updated_after(moment: datetime) -> dict[str, str]:
    if UPDATED_AFTER_STYLE == "_filter":
        return {"_filter": edited_after(moment)}
    return {"modifiedSince": absorb_datetime(moment)}


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _keyed(requested: Sequence[str], found: Mapping[str, T]) -> dict[str, T]:
    """``found`` (keyed by lower-case GUID) keyed by the IDs as the caller spelled them."""
    return {i: found[i.lower()] for i in requested if i.lower() in found}


class AbsorbConnector:
    """Reads users, courses and course enrollments from one Absorb portal.

    ``tenant`` is ``<gateway host>[:port]/<admin username>``: the portal's key is secret,
    and one admin user belongs to one portal (two portals with the same admin username on
    the same gateway would need distinct source names to be told apart).
    """

    kind = "absorb"
    capabilities = Capabilities(
        max_page_size=MAX_PAGE_SIZE, max_batch_size=MAX_IDS_PER_FILTER, pricing=PRICING
    )

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        api_key: SecretStr,
        username: str,
        password: SecretStr,
        token_prefix: str = "",
        retry: RetryPolicy | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
        breaker: CircuitBreaker | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_concurrency: int = MAX_CONCURRENCY,
        token_store: TokenStore | None = None,
    ) -> None:
        self.name = name
        self.tenant = _tenant_of(base_url, username)
        self.breaker = breaker or CircuitBreaker()
        base = base_url.rstrip("/")
        timeout = timeout or DEFAULT_TIMEOUT

        def transport(
            auth: Auth, retry: RetryPolicy, breaker: CircuitBreaker | None
        ) -> HttpTransport:
            return HttpTransport(
                source=name,
                vendor=self.kind,
                base_url=base,
                auth=auth,
                error_code_of=absorb_error_code,
                vendor_errors=ABSORB_ERRORS,
                retry=retry,
                timeout=timeout,
                breaker=breaker,
                max_response_bytes=max_response_bytes,
            )

        key = AbsorbKeyAuth(api_key)
        self._auth = AbsorbTokenAuth(
            key=key,
            # One try per login: a login runs inside an attempt of the request that
            # needs it, whose retries cover it (retrying in both would multiply them).
            login_http=transport(key, RetryPolicy(max_attempts=1), None),
            username=username,
            password=password,
            token_prefix=token_prefix,
            valid_for=TOKEN_LIFETIME - TOKEN_RENEW_EARLY,
            store=token_store,
        )
        self._http = transport(self._auth, retry or RetryPolicy(), self.breaker)
        self._slots = asyncio.Semaphore(max_concurrency)

    async def open(self) -> None:
        await self._auth.login_http.open()
        await self._http.open()

    async def close(self) -> None:
        await self._http.close()
        await self._auth.login_http.close()

    async def check_health(self) -> None:
        await self._get("/users", {"_limit": "1"}, payloads.USERS_PAGE)

    # -- one page at a time, for connections ---------------------------------------------

    async def list_users(self, query: ListQuery, token: str | None, size: int) -> Page[User]:
        return await self._list("/users", query, token, size, payloads.USERS_PAGE, map_user)

    async def list_courses(self, query: ListQuery, token: str | None, size: int) -> Page[Course]:
        return await self._list("/courses", query, token, size, payloads.COURSES_PAGE, map_course)

    async def list_skills(self, query: ListQuery, token: str | None, size: int) -> Page[Skill]:
        return Page(items=[], next_token=None, total_count=0)  # Absorb: no skills mapped

    async def list_progressions(
        self, query: ListQuery, token: str | None, size: int
    ) -> Page[Progression]:
        """One page of users and all their current enrollments (the bulk call).

        ``updated_after`` is applied here, on ``dateEdited``: the bulk call has no filter.
        ``total_count`` is None: Absorb counts users here, not enrollments.
        """
        position = self._position(token, min(size, MAX_USERS_PER_BULK))
        users = await self._get("/users", position.params(), payloads.USERS_PAGE)
        found = await self._bulk([user.id for user in users.items])
        items = [p for group in found.values() for p in group]
        if query.updated_after is not None:
            since = _utc(query.updated_after)
            # Unknown edit time: kept, as missing a change is worse than reading one twice.
            items = [p for p in items if p.updated_at is None or p.updated_at > since]
        following = position.after(users)
        return Page(items=items, next_token=following.token() if following else None)

    # -- batched look-ups, for DataLoaders -----------------------------------------------

    async def fetch_users(self, ids: Sequence[str]) -> Mapping[str, User]:
        found = await self._by_filter(
            "/users", guids(ids), payloads.USERS_PAGE, map_user, id_filter
        )
        return _keyed(ids, {user.id.lower(): user for user in found})

    async def fetch_courses(self, ids: Sequence[str]) -> Mapping[str, Course]:
        found = await self._by_filter(
            "/courses", guids(ids), payloads.COURSES_PAGE, map_course, id_filter
        )
        return _keyed(ids, {course.id.lower(): course for course in found})

    async def fetch_skills(self, ids: Sequence[str]) -> Mapping[str, Skill]:
        return {}

    async def fetch_progressions(self, ids: Sequence[str]) -> Mapping[str, Progression]:
        async def one(enrollment_id: str) -> Progression | None:
            try:
                found = await self._get(f"/enrollments/{enrollment_id}", None, payloads.ENROLLMENT)
            except VendorNotFound:
                return None
            if found is None:  # no usable record (reported): as good as absent
                return None
            return map_progression(found) if is_current(found) else None

        wanted = guids(ids)
        results = await gather_bounded(self._slots, [one(i) for i in wanted])
        # Keyed by the record's own ID: an answer about another enrollment is not this one.
        return _keyed(ids, {p.id.lower(): p for p in results if p is not None})

    async def fetch_users_by_email(self, emails: Sequence[str]) -> Mapping[str, Sequence[User]]:
        unique = list(dict.fromkeys(emails))
        users = await self._by_filter("/users", unique, payloads.USERS_PAGE, map_user, email_filter)
        found: dict[str, list[User]] = {email: [] for email in emails}
        for user in users:
            if user.email is not None and user.email.lower() in found:
                found[user.email.lower()].append(user)
        return found

    async def fetch_progressions_of_users(
        self, user_ids: Sequence[str]
    ) -> Mapping[str, Sequence[Progression]]:
        found = await self._bulk(guids(user_ids))
        return {key: found.get(key.lower(), []) for key in dict.fromkeys(user_ids)}

    async def fetch_progressions_of_courses(
        self, course_ids: Sequence[str]
    ) -> Mapping[str, Sequence[Progression]]:
        async def one(course_id: str) -> list[Progression]:
            path = COURSE_ENROLLMENTS_PATH.format(course_id=course_id)
            try:
                return [
                    map_progression(e)
                    async for e in self._walk(path, {}, payloads.ENROLLMENTS_PAGE)
                    if is_current(e)
                ]
            except VendorNotFound:
                return []  # no such course

        wanted = guids(course_ids)
        results = await gather_bounded(self._slots, [one(i) for i in wanted])
        found = {i.lower(): r for i, r in zip(wanted, results, strict=True)}
        return {key: found.get(key.lower(), []) for key in dict.fromkeys(course_ids)}

    # -- plumbing --------------------------------------------------------------------------

    async def _list(
        self,
        path: str,
        query: ListQuery,
        token: str | None,
        size: int,
        adapter: TypeAdapter[payloads.AbsorbPage[PayloadT]],
        mapper: Callable[[PayloadT], RecordT],
    ) -> Page[RecordT]:
        position = self._position(token, size)
        params = position.params()
        if query.updated_after is not None:
            params.update(_updated_after(query.updated_after))
        page = await self._get(path, params, adapter)
        following = position.after(page)
        return Page(
            items=[mapper(item) for item in page.items],
            next_token=following.token() if following else None,
            total_count=page.total_items,
        )

    def _position(self, token: str | None, size: int) -> PageIndex:
        if token is None:
            return PageIndex.first(size, MAX_PAGE_SIZE)
        position = PageIndex.parse(token, MAX_PAGE_SIZE)
        if position is None:
            raise self._http.error(VendorRejectedRequest, "invalid page token")
        return position

    async def _get(self, path: str, params: Mapping[str, str] | None, adapter: TypeAdapter[T]) -> T:
        return await self._http.get_model(path, params, adapter)

    async def _walk(
        self,
        path: str,
        params: Mapping[str, str],
        adapter: TypeAdapter[payloads.AbsorbPage[PayloadT]],
    ) -> AsyncIterator[PayloadT]:
        """Every item of a filtered list, in pages of the largest size, to the last page."""
        position: PageIndex | None = PageIndex.first(MAX_PAGE_SIZE, MAX_PAGE_SIZE)
        while position is not None:
            page = await self._get(path, {**params, **position.params()}, adapter)
            for item in page.items:
                yield item
            position = position.after(page)

    async def _by_filter(
        self,
        path: str,
        keys: Sequence[str],
        adapter: TypeAdapter[payloads.AbsorbPage[PayloadT]],
        mapper: Callable[[PayloadT], RecordT],
        clause: Callable[[Sequence[str]], str],
    ) -> list[RecordT]:
        """Records matching ``_filter=clause(chunk)``, for chunks of the distinct ``keys``."""

        async def one(chunk: Sequence[str]) -> list[RecordT]:
            params = {"_filter": clause(chunk)}
            return [mapper(item) async for item in self._walk(path, params, adapter)]

        unique = list(dict.fromkeys(keys))
        calls = [one(chunk) for chunk in distinct_chunks(unique, MAX_IDS_PER_FILTER)]
        return [record for group in await gather_bounded(self._slots, calls) for record in group]

    async def _bulk(self, user_ids: Sequence[str]) -> dict[str, list[Progression]]:
        """Current enrollments of each user (keyed by lower-case GUID), in Absorb's order."""

        async def one(chunk: Sequence[str]) -> list[payloads.AbsorbEnrollment]:
            params = MultiDict(("userIds", user_id) for user_id in chunk)
            return await self._get(BULK_ENROLLMENTS_PATH, params, payloads.ENROLLMENTS)

        calls = [one(chunk) for chunk in distinct_chunks(guids(user_ids), MAX_USERS_PER_BULK)]
        grouped: dict[str, list[Progression]] = defaultdict(list)
        for group in await gather_bounded(self._slots, calls):
            for enrollment in filter(is_current, group):
                grouped[enrollment.user_id.lower()].append(map_progression(enrollment))
        return grouped
