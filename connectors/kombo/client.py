"""The Kombo connector: transport, pagination and batching over Kombo's unified LMS API."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import aiohttp
from pydantic import BaseModel, SecretStr, TypeAdapter, ValidationError

from connectors._http import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT, HttpTransport, RetryPolicy
from connectors.base import CallPrice, Capabilities, ListQuery, Lookup, Page, Pricing
from connectors.breaker import CircuitBreaker
from connectors.errors import (
    ConnectorError,
    VendorAuthError,
    VendorBadResponse,
    VendorRateLimited,
    VendorRejectedRequest,
    VendorUnavailable,
)
from connectors.fanout import distinct_chunks, gather_bounded
from connectors.kombo import payloads
from connectors.kombo.auth import KomboAuth
from connectors.kombo.mapping import map_course, map_progression, map_skill, map_user
from connectors.model import Course, EntityKind, Progression, Record, Skill, User
from connectors.pagination import BodyCursorPaginator, RepeatedTokenError

__all__ = ["KOMBO_ERRORS", "MAX_CONCURRENCY", "KomboConnector"]

# Vendor facts this client relies on; shared/vendors/kombo.md has the sources.
MAX_PAGE_SIZE = 250  # documented maximum of `page_size`
# UNVERIFIED: Kombo documents no cap on `ids`/`user_ids`; 100 IDs of 24 characters keep
# the URL near 2.5 KB, far below common 8 KB limits.
MAX_IDS_PER_CALL = 100
# A filtered list's next page can only be asked once the previous one has arrived (its
# cursor is in it), so a look-up needing two pages costs two round trips in a row. A
# grouped look-up is therefore split into chunks expected to fit one page each, read at
# once. UNVERIFIED, ours: at most 10 progressions per user (250 / 10 = 25 users per call)
# and 50 learners per course (5 courses per call) on average; a chunk that holds more
# still reads its further pages, one round trip each.
USERS_PER_GROUPED_CALL = 25
COURSES_PER_GROUPED_CALL = 5
# Kombo documents a concurrency limit (30 calls in flight per integration, answered with
# 429 `PLATFORM.CONCURRENCY_LIMIT_EXCEEDED`) for action endpoints only, and says model
# reads such as these lists are not concurrency limited; its request-rate numbers are
# UNVERIFIED. We keep its documented 30 as our bound on reads too.
MAX_CONCURRENCY = 30

#: Kombo says to branch on `error.code`, not on the HTTP status.
KOMBO_ERRORS: Mapping[str, type[ConnectorError]] = {
    "PLATFORM.RATE_LIMIT_EXCEEDED": VendorRateLimited,
    "PLATFORM.CONCURRENCY_LIMIT_EXCEEDED": VendorRateLimited,
    "REMOTE.RATE_LIMIT_EXCEEDED": VendorRateLimited,
    "PLATFORM.AUTHENTICATION_INVALID": VendorAuthError,
    "PLATFORM.IP_NOT_WHITELISTED": VendorAuthError,
    "PLATFORM.INTEGRATION_NOT_FOUND": VendorAuthError,
    "PLATFORM.INPUT_INVALID": VendorRejectedRequest,
    "PLATFORM.UNKNOWN_ERROR": VendorUnavailable,
    "PLATFORM.TASK_TIMED_OUT": VendorUnavailable,
    "INTEGRATION.INACTIVE": VendorUnavailable,
    "INTEGRATION.SETUP_INCOMPLETE": VendorUnavailable,
    "INTEGRATION.SETUP_SYNC_PENDING": VendorUnavailable,
    # The integration's tool does not offer this model: permanent, retrying cannot help.
    "INTEGRATION.MODEL_NOT_AVAILABLE": VendorRejectedRequest,
}

#: Every list pages by `page_size`; every look-up sends 100 IDs per call and follows
#: `next` through its results, 250 per page.
_BATCHED = CallPrice(per_call=MAX_IDS_PER_CALL, results_per_call=MAX_PAGE_SIZE)
PRICING = Pricing(
    pages={kind: CallPrice(per_call=MAX_PAGE_SIZE) for kind in EntityKind},
    lookups={
        **{lookup: _BATCHED for lookup in Lookup},
        Lookup.PROGRESSIONS_OF_USERS: CallPrice(
            per_call=USERS_PER_GROUPED_CALL, results_per_call=MAX_PAGE_SIZE
        ),
        Lookup.PROGRESSIONS_OF_COURSES: CallPrice(
            per_call=COURSES_PER_GROUPED_CALL, results_per_call=MAX_PAGE_SIZE
        ),
    },
)

PayloadT = TypeVar("PayloadT", bound=BaseModel)
RecordT = TypeVar("RecordT", bound=Record)


def kombo_error_code(body: Any) -> str | None:
    try:
        return payloads.KomboErrorBody.model_validate(body).error.code
    except ValidationError:
        return None


def kombo_timestamp(moment: datetime) -> str:
    """Kombo's documented filter format, ``YYYY-MM-DDTHH:mm:ss.sssZ``; naive means UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class KomboConnector:
    """Reads users, courses (with revisions), skills and course progressions from Kombo."""

    kind = "kombo"
    capabilities = Capabilities(
        max_page_size=MAX_PAGE_SIZE, max_batch_size=MAX_IDS_PER_CALL, pricing=PRICING
    )

    def __init__(
        self,
        *,
        name: str,
        base_url: str,
        api_key: SecretStr,
        integration_id: str,
        retry: RetryPolicy | None = None,
        timeout: aiohttp.ClientTimeout | None = None,
        breaker: CircuitBreaker | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_concurrency: int = MAX_CONCURRENCY,
    ) -> None:
        self.name = name
        self.tenant = integration_id
        self._slots = asyncio.Semaphore(max_concurrency)
        self.breaker = breaker or CircuitBreaker()
        self._http = HttpTransport(
            source=name,
            vendor=self.kind,
            base_url=base_url.rstrip("/"),
            auth=KomboAuth(api_key=api_key, integration_id=integration_id),
            error_code_of=kombo_error_code,
            vendor_errors=KOMBO_ERRORS,
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
        await self._get_page("/lms/users", {"page_size": "1"}, payloads.USERS_PAGE)

    # -- one page at a time, for connections ---------------------------------------------

    async def list_users(self, query: ListQuery, token: str | None, size: int) -> Page[User]:
        return await self._list("/lms/users", query, token, size, payloads.USERS_PAGE, map_user)

    async def list_courses(self, query: ListQuery, token: str | None, size: int) -> Page[Course]:
        return await self._list(
            "/lms/courses", query, token, size, payloads.COURSES_PAGE, map_course
        )

    async def list_skills(self, query: ListQuery, token: str | None, size: int) -> Page[Skill]:
        return await self._list("/lms/skills", query, token, size, payloads.SKILLS_PAGE, map_skill)

    async def list_progressions(
        self, query: ListQuery, token: str | None, size: int
    ) -> Page[Progression]:
        return await self._list(
            "/lms/course-progressions",
            query,
            token,
            size,
            payloads.PROGRESSIONS_PAGE,
            map_progression,
        )

    # -- batched look-ups, for DataLoaders -----------------------------------------------

    async def fetch_users(self, ids: Sequence[str]) -> Mapping[str, User]:
        return await self._by_ids("/lms/users", ids, payloads.USERS_PAGE, map_user)

    async def fetch_courses(self, ids: Sequence[str]) -> Mapping[str, Course]:
        return await self._by_ids("/lms/courses", ids, payloads.COURSES_PAGE, map_course)

    async def fetch_skills(self, ids: Sequence[str]) -> Mapping[str, Skill]:
        return await self._by_ids("/lms/skills", ids, payloads.SKILLS_PAGE, map_skill)

    async def fetch_progressions(self, ids: Sequence[str]) -> Mapping[str, Progression]:
        return await self._by_ids(
            "/lms/course-progressions", ids, payloads.PROGRESSIONS_PAGE, map_progression
        )

    async def fetch_users_by_email(self, emails: Sequence[str]) -> Mapping[str, Sequence[User]]:
        found: dict[str, list[User]] = {email: [] for email in emails}
        chunks = distinct_chunks(emails, MAX_IDS_PER_CALL)
        params = [{"work_emails": ",".join(chunk)} for chunk in chunks]
        for user in await self._walk_chunks("/lms/users", params, payloads.USERS_PAGE, map_user):
            if user.email is not None and user.email.lower() in found:
                found[user.email.lower()].append(user)
        return found

    async def fetch_progressions_of_users(
        self, user_ids: Sequence[str]
    ) -> Mapping[str, Sequence[Progression]]:
        return await self._progressions_grouped(
            "user_ids", user_ids, USERS_PER_GROUPED_CALL, lambda p: [p.user_id]
        )

    async def fetch_progressions_of_courses(
        self, course_ids: Sequence[str]
    ) -> Mapping[str, Sequence[Progression]]:
        return await self._progressions_grouped(
            "course_ids",
            course_ids,
            COURSES_PER_GROUPED_CALL,
            lambda p: [p.course_id] if p.course_id else [],
        )

    # -- plumbing --------------------------------------------------------------------------

    async def _list(
        self,
        path: str,
        query: ListQuery,
        token: str | None,
        size: int,
        adapter: TypeAdapter[payloads.KomboPage[PayloadT]],
        mapper: Callable[[PayloadT], RecordT],
    ) -> Page[RecordT]:
        params = {"page_size": str(max(1, min(size, MAX_PAGE_SIZE)))}
        if query.updated_after is not None:
            params["updated_after"] = kombo_timestamp(query.updated_after)
        if query.include_deleted:
            params["include_deleted"] = "true"
        if token is not None:
            params["cursor"] = token
        page = await self._get_page(path, params, adapter)
        items = [mapper(item) for item in page.data.results]
        return Page(items=items, next_token=page.data.next or None)

    async def _get_page(
        self,
        path: str,
        params: Mapping[str, str],
        adapter: TypeAdapter[payloads.KomboPage[PayloadT]],
    ) -> payloads.KomboPage[PayloadT]:
        return await self._http.get_model(path, params, adapter)

    async def _walk(
        self,
        path: str,
        params: Mapping[str, str],
        adapter: TypeAdapter[payloads.KomboPage[PayloadT]],
    ) -> AsyncIterator[PayloadT]:
        """Every item of a filtered list, following `data.next` to the last page."""
        paginator = BodyCursorPaginator(lambda page: page.data.next)
        token = paginator.first_token()
        while True:
            page_params = {**params, "page_size": str(MAX_PAGE_SIZE)}
            if token is not None:
                page_params["cursor"] = token
            page = await self._get_page(path, page_params, adapter)
            for item in page.data.results:
                yield item
            try:
                token = paginator.next_token(page)
            except RepeatedTokenError as exc:
                raise self._http.error(
                    VendorBadResponse, "pagination cursor repeated", method="GET", path=path
                ) from exc
            if token is None:
                return

    async def _by_ids(
        self,
        path: str,
        ids: Sequence[str],
        adapter: TypeAdapter[payloads.KomboPage[PayloadT]],
        mapper: Callable[[PayloadT], RecordT],
    ) -> dict[str, RecordT]:
        # Deleted records are still records: a look-up by ID should find them. At most one
        # record per ID, so each chunk of 100 fits one page of 250: one round trip.
        params = [
            {"ids": ",".join(chunk), "include_deleted": "true"}
            for chunk in distinct_chunks(ids, MAX_IDS_PER_CALL)
        ]
        return {
            record.id: record for record in await self._walk_chunks(path, params, adapter, mapper)
        }

    async def _progressions_grouped(
        self,
        filter_name: str,
        keys: Sequence[str],
        per_call: int,
        keys_of: Callable[[Progression], list[str]],
    ) -> dict[str, list[Progression]]:
        grouped: dict[str, list[Progression]] = defaultdict(list)
        chunks = distinct_chunks(keys, per_call)
        params = [{filter_name: ",".join(chunk)} for chunk in chunks]
        path, adapter = "/lms/course-progressions", payloads.PROGRESSIONS_PAGE
        for progression in await self._walk_chunks(path, params, adapter, map_progression):
            for key in keys_of(progression):
                grouped[key].append(progression)
        return {key: grouped.get(key, []) for key in dict.fromkeys(keys)}

    async def _walk_chunks(
        self,
        path: str,
        chunks: Sequence[Mapping[str, str]],
        adapter: TypeAdapter[payloads.KomboPage[PayloadT]],
        mapper: Callable[[PayloadT], RecordT],
    ) -> list[RecordT]:
        """Every record of each chunk's walk, the chunks read at once, in chunk order."""

        async def one(params: Mapping[str, str]) -> list[RecordT]:
            return [mapper(item) async for item in self._walk(path, params, adapter)]

        walks = await gather_bounded(self._slots, [one(params) for params in chunks])
        return [record for walk in walks for record in walk]
