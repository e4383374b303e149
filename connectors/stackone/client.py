"""The StackOne connector: users, courses, skills and progressions over StackOne's unified LMS API.

Progression model. StackOne keeps no progression record; it keeps assignments (a
learning object given to a user: ``pending``/``in_progress``/``completed``, progress,
due date) and completions (a learning object finished: result, score, time spent). One
Progression is one (user, learning object) pair joining that user's assignment and
completion, keyed ``f"{user_id}:{learning_object_id}"`` (StackOne IDs hold no ``:``).
Its status comes from the assignment and is COMPLETED whenever a completion exists; a
``course`` learning object is the course and its one synthesized revision, a
``content`` item counts for the first course of its ``course_ids`` (one look-up per
distinct content ID per call). See :mod:`connectors.stackone.mapping` for every field.

Which calls each method makes:

- ``list_progressions``: one page of users (``token`` is the users cursor), then each
  listed user's ``/users/{id}/assignments`` and ``/users/{id}/completions``;
- ``fetch_progressions_of_users`` and ``fetch_progressions``: those two lists per user;
- ``fetch_progressions_of_courses``: each course (for its ``content_ids``), then the
  global ``/assignments`` and ``/completions`` lists, kept when the learning object is
  the course or one of its content items.

StackOne has no batch look-ups, so every per-ID call is fanned out under one
``asyncio.Semaphore(max_concurrency)`` per connector; a 404 means "absent".
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from connectors._http import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, HttpTransport, RetryPolicy
from connectors.base import CallPrice, Capabilities, ListQuery, Lookup, Page, Pricing
from connectors.breaker import CircuitBreaker
from connectors.errors import ConnectorError, VendorAuthError, VendorRejectedRequest
from connectors.model import Course, EntityKind, Progression, Record, Skill, User
from connectors.stackone import payloads
from connectors.stackone.api import StackOneApi, record_path
from connectors.stackone.auth import StackOneAuth
from connectors.stackone.mapping import map_course, map_skill, map_user
from connectors.stackone.progressions import ProgressionReader

__all__ = [
    "MAX_CONCURRENCY",
    "STACKONE_ERRORS",
    "STACKONE_STATUS_ERRORS",
    "StackOneConnector",
    "stackone_error_code",
    "stackone_timestamp",
]

# Vendor facts this client relies on; shared/vendors/stackone.md has the sources.
LMS = "/unified/lms"  # below the base URL, e.g. https://api.stackone.com
# No by-course call: the spec's `/assignments` and `/completions` filter on `updated_after`
# (and assignment `status`) only, so a course's learners come from walking those lists.
# UNVERIFIED: `page_size` defaults to 25; an older guide says "up to 100", the LMS
# maximum is not documented.
MAX_PAGE_SIZE = 100
# Ours, not StackOne's: there are no batch calls, so a batch is this many per-ID calls
# under the semaphore; it only bounds one loader batch.
MAX_IDS_PER_BATCH = 100
# Calls of one source in flight at once during a fan-out: one second's share of StackOne's
# documented rate limit, 1,000 requests per minute per API key (over it: 429 with
# `Retry-After`, 60 s by default). At one second per call (StackOne calls the provider
# behind it live) that is the limit exactly; faster calls spend the minute's budget as a
# burst, which a per-minute window admits, and a 429 is retried after its Retry-After.
# StackOne also advises against concurrent requests to one account when the provider
# behind it throttles (StackOne then retries the provider's 429 itself, up to 60 s): for
# such a provider, configure a lower `max_concurrency`.
MAX_CONCURRENCY = 16
# StackOne blocks requests without a real User-Agent as suspicious (403).
USER_AGENT = "lms-graph/0.1 (StackOne connector)"
# UNVERIFIED: `filter[updated_after]` is an ISO date-time; we send UTC with milliseconds.
# UNVERIFIED: whether `filter[email]` matches case-insensitively; we re-check lower-cased.
# The spec's error bodies (statusCode, message, timestamp) carry no code, so conditions
# are told apart by the HTTP status, as the spec documents them per status:
#: 412 "linked account belongs to a disabled integration"; 501 "not implemented" by the
#: provider behind the account: neither is helped by retrying.
STACKONE_STATUS_ERRORS: Mapping[int, type[ConnectorError]] = {
    412: VendorAuthError,
    501: VendorRejectedRequest,
}
# UNVERIFIED: a 404 for an unknown `x-account-id` differs from one for an unknown record
# only in its message; ours, derived from a 404 message naming the account:
ACCOUNT_NOT_FOUND = "ACCOUNT_NOT_FOUND"

#: Classification beyond the HTTP status (see ``stackone_error_code``).
STACKONE_ERRORS: Mapping[str, type[ConnectorError]] = {ACCOUNT_NOT_FOUND: VendorAuthError}
_ACCOUNT = re.compile(r"\baccount\b", re.IGNORECASE)

#: No batch calls: one call per ID, and a user's progressions are two walks (assignments
#: and completions). The look-up of a content item per distinct content ID is not priced:
#: how many there are is only known from the answers.
_PER_ID = CallPrice(per_call=1)
PRICING = Pricing(
    pages={
        EntityKind.USERS: CallPrice(per_call=MAX_PAGE_SIZE),
        EntityKind.COURSES: CallPrice(per_call=MAX_PAGE_SIZE),
        EntityKind.SKILLS: CallPrice(per_call=MAX_PAGE_SIZE),
        EntityKind.PROGRESSIONS: CallPrice(per_call=MAX_PAGE_SIZE, per_key=2),
    },
    lookups={
        Lookup.USERS: _PER_ID,
        Lookup.COURSES: _PER_ID,
        Lookup.SKILLS: _PER_ID,
        Lookup.PROGRESSIONS: CallPrice(per_call=1, calls=2),
        Lookup.USERS_BY_EMAIL: _PER_ID,
        Lookup.PROGRESSIONS_OF_USERS: CallPrice(per_call=1, calls=2),
        # each course, then the account's assignments and completions
        Lookup.PROGRESSIONS_OF_COURSES: CallPrice(per_call=1, fixed=2),
    },
)

RecordT = TypeVar("RecordT", bound=Record)
PayloadT = TypeVar("PayloadT", bound=BaseModel)


def stackone_error_code(body: Any) -> str | None:
    """ACCOUNT_NOT_FOUND for a 404 naming the account, else StackOne's own ``errorCode``.

    A 404 for an unknown record and a 404 for an unknown ``x-account-id`` differ only
    in the message, so a 404 whose message mentions the account is ACCOUNT_NOT_FOUND;
    it wins over any ``errorCode``, which names no account condition. Every other
    condition is classified by its HTTP status (``STACKONE_STATUS_ERRORS``).
    """
    try:
        error = payloads.ERROR_BODY.validate_python(body)
    except ValidationError:
        return None
    message = " ".join(error.message) if isinstance(error.message, list) else error.message
    if error.status_code == 404 and _ACCOUNT.search(message or ""):
        return ACCOUNT_NOT_FOUND
    return error.error_code


def stackone_timestamp(moment: datetime) -> str:
    """``filter[updated_after]`` spelling: UTC, milliseconds, ``Z``; naive means UTC."""
    moment = _utc(moment)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


class StackOneConnector:
    """Reads users, courses (one revision each), skills and progressions from StackOne."""

    kind = "stackone"
    capabilities = Capabilities(
        max_page_size=MAX_PAGE_SIZE, max_batch_size=MAX_IDS_PER_BATCH, pricing=PRICING
    )

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        api_key: SecretStr,
        account_id: str,
        max_concurrency: int = MAX_CONCURRENCY,
        retry: RetryPolicy | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
        breaker: CircuitBreaker | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.name = name
        self.tenant = account_id
        self.breaker = breaker or CircuitBreaker()
        self._http = HttpTransport(
            source=name,
            vendor=self.kind,
            base_url=base_url.rstrip("/"),
            auth=StackOneAuth(api_key=api_key, account_id=account_id, user_agent=USER_AGENT),
            error_code_of=stackone_error_code,
            vendor_errors=STACKONE_ERRORS,
            status_errors=STACKONE_STATUS_ERRORS,
            retry=retry or RetryPolicy(),
            timeout=timeout or DEFAULT_TIMEOUT,
            breaker=self.breaker,
            max_response_bytes=max_response_bytes,
        )
        self._api = StackOneApi(
            self._http, prefix=LMS, page_size=MAX_PAGE_SIZE, max_concurrency=max_concurrency
        )
        self._progressions = ProgressionReader(self._api)

    async def open(self) -> None:
        await self._http.open()

    async def close(self) -> None:
        await self._http.close()

    async def check_health(self) -> None:
        await self._api.page("/users", {"page_size": "1"}, payloads.USERS_PAGE)

    # -- one page at a time, for connections ---------------------------------------------

    async def list_users(self, query: ListQuery, token: str | None, size: int) -> Page[User]:
        return await self._list("users", query, token, size, payloads.USERS_PAGE, map_user)

    async def list_courses(self, query: ListQuery, token: str | None, size: int) -> Page[Course]:
        return await self._list("courses", query, token, size, payloads.COURSES_PAGE, map_course)

    async def list_skills(self, query: ListQuery, token: str | None, size: int) -> Page[Skill]:
        return await self._list("skills", query, token, size, payloads.SKILLS_PAGE, map_skill)

    async def list_progressions(
        self, query: ListQuery, token: str | None, size: int
    ) -> Page[Progression]:
        # The users are not filtered by `updated_after`: an unchanged user can have a
        # changed assignment. Neither are the two halves of a pair, which would split
        # it; StackOne has no filter on the joined record, so it is applied here.
        users = await self._api.page(
            "/users", self._page_params(ListQuery(), token, size), payloads.USERS_PAGE
        )
        per_user = await self._progressions.of_users([user.id for user in users.data])
        items = [progression for found in per_user.values() for progression in found]
        if query.updated_after is not None:
            since = _utc(query.updated_after)
            # No updated_at on either record: kept, so that a sync never misses it.
            items = [p for p in items if p.updated_at is None or _utc(p.updated_at) > since]
        return Page(items=items, next_token=users.next or None)

    # -- per-ID look-ups, for DataLoaders --------------------------------------------------

    async def fetch_users(self, ids: Sequence[str]) -> Mapping[str, User]:
        return await self._by_ids("users", ids, payloads.USER_ITEM, map_user)

    async def fetch_courses(self, ids: Sequence[str]) -> Mapping[str, Course]:
        return await self._by_ids("courses", ids, payloads.COURSE_ITEM, map_course)

    async def fetch_skills(self, ids: Sequence[str]) -> Mapping[str, Skill]:
        return await self._by_ids("skills", ids, payloads.SKILL_ITEM, map_skill)

    async def fetch_progressions(self, ids: Sequence[str]) -> Mapping[str, Progression]:
        return await self._progressions.by_keys(ids)

    async def fetch_users_by_email(self, emails: Sequence[str]) -> Mapping[str, Sequence[User]]:
        unique = [email for email in _unique(emails) if email]
        found = await self._api.bounded(
            [
                self._api.walk("/users", {"filter[email]": email}, payloads.USERS_PAGE)
                for email in unique
            ]
        )
        by_email: dict[str, list[User]] = {email: [] for email in emails}
        for email, users in zip(unique, found, strict=True):
            wanted = email.lower()
            by_email[email] = [
                map_user(u) for u in users if u.email is not None and u.email.lower() == wanted
            ]
        return by_email

    async def fetch_progressions_of_users(
        self, user_ids: Sequence[str]
    ) -> Mapping[str, Sequence[Progression]]:
        return await self._progressions.of_users(user_ids)

    async def fetch_progressions_of_courses(
        self, course_ids: Sequence[str]
    ) -> Mapping[str, Sequence[Progression]]:
        return await self._progressions.of_courses(course_ids)

    # -- plumbing --------------------------------------------------------------------------

    @staticmethod
    def _page_params(query: ListQuery, token: str | None, size: int) -> dict[str, str]:
        # `include_deleted` means nothing here: StackOne has no tombstones.
        params = {"page_size": str(max(1, min(size, MAX_PAGE_SIZE)))}
        if query.updated_after is not None:
            params["filter[updated_after]"] = stackone_timestamp(query.updated_after)
        if token is not None:
            params["next"] = token
        return params

    async def _list(
        self,
        collection: str,
        query: ListQuery,
        token: str | None,
        size: int,
        adapter: TypeAdapter[payloads.StackOneList[PayloadT]],
        mapper: Callable[[PayloadT], RecordT],
    ) -> Page[RecordT]:
        params = self._page_params(query, token, size)
        page = await self._api.page(f"/{collection}", params, adapter)
        # Only the courses list declares `total`; elsewhere it stays None (uncounted).
        total = int(page.total) if page.total is not None and page.total >= 0 else None
        items = [mapper(item) for item in page.data]
        return Page(items=items, next_token=page.next or None, total_count=total)

    async def _by_ids(
        self,
        collection: str,
        ids: Sequence[str],
        adapter: TypeAdapter[payloads.StackOneItem[PayloadT]],
        mapper: Callable[[PayloadT], RecordT],
    ) -> dict[str, RecordT]:
        unique = _unique(ids)
        found = await self._api.many([record_path(collection, i) for i in unique], adapter)
        return {i: mapper(item) for i, item in zip(unique, found, strict=True) if item is not None}
