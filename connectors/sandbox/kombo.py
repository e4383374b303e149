"""Kombo's unified LMS API, emulated over a generated :class:`~connectors.sandbox.world.World`.

Wire format, filters and errors follow Kombo's documented LMS API. Mount the application
returned by :func:`build_kombo_app` at ``/kombo/v1``; paths below it are Kombo's, e.g.
``/kombo/v1/lms/users``. Generated worlds for Kombo use the default ID style (base58).

World → wire encoding (dates ``YYYY-MM-DDTHH:MM:SS.sssZ`` in UTC, truncated to the
millisecond; serialisers in :mod:`connectors.sandbox.kombo_wire`). Every list is in world
order; a record whose ``deleted_at`` is set is served only with ``include_deleted=true``.
Every record also carries ``remote_data: null``, ``custom_fields: null`` and
``integration_fields: []``.

- users: ``{id, remote_id, first_name, last_name, work_email: email, status: the world's
  status verbatim ("ACTIVE" / "INACTIVE"), remote_created_at: created_at,
  remote_deleted_at: deleted_at, changed_at}``.
- skills: ``{id, remote_id, name, remote_created_at: null, remote_deleted_at: deleted_at,
  changed_at}`` (the world keeps no creation date for skills).
- courses: ``{id, remote_id, provider_id, origin_id, remote_created_at: created_at,
  remote_deleted_at: deleted_at, changed_at, provider: {id, remote_id, name} of the
  provider or null, revisions: [...]}``; ``revisions`` are the course's revisions in world
  order, a deleted one only with ``include_deleted=true``. A revision: ``{id, remote_id,
  course_id, title, description, remote_url: url, status: verbatim ("ACTIVE" /
  "INACTIVE"), remote_created_at, remote_deleted_at, changed_at, skill_assignments:
  [{skill: {id, remote_id, name}}]}`` with one assignment per ``skill_ids`` entry, in that
  order, deleted skills included. Course, title, description and URL are never computed
  here: which revision describes the course is the client's choice.
- progressions: every world progression (also those of deleted users or courses), the
  deleted ones only with ``include_deleted=true``: ``{id, remote_id, user_id,
  course_revision_id: revision_id, status: the world's status verbatim (ENROLLED,
  IN_PROGRESS, COMPLETED, DROPPED), enrolled_at, completed_at, changed_at,
  remote_deleted_at: deleted_at, user: {id, remote_id, first_name, last_name, work_email}
  of its user, course_revision: {id, remote_id, title, course: {id, remote_id}} of its
  revision and that revision's course}``.

Lists: ``{"status": "success", "data": {"next": <cursor or null>, "results": [...]}}``.
``page_size`` defaults to 100 and must be 1..250. Filters, each a comma list matched
exactly: ``ids`` and ``remote_ids`` on every list; users ``work_emails``
(case-insensitive); progressions ``user_ids`` and ``course_ids`` (the revision's course).
``updated_after`` compares ``changed_at``; for a course, the latest ``changed_at`` of the
course and all its revisions.

Requests. ``Authorization: Bearer <api_key>`` missing or unknown → 401
``PLATFORM.AUTHENTICATION_INVALID``; no ``X-Integration-Id`` → 400
``PLATFORM.INPUT_INVALID``; an unknown integration → 404
``PLATFORM.INTEGRATION_NOT_FOUND``; a key of another integration → 401. Bad parameters →
400 ``PLATFORM.INPUT_INVALID``. Errors are ``{"status": "error", "error": {code, title,
message, log_url: null}}``; unknown routes answer the same body with a null code.

Choices where Kombo documents nothing: ``updated_after`` is exclusive; a course counts as
updated when any of its revisions changed; deleted revisions of a live course appear only
with ``include_deleted=true``; filters other than those of the endpoint are ignored; a
cursor carries the offset and a digest of integration, path and filter parameters (not
``page_size``), so it is rejected when reused with other filters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeVar

from aiohttp import web

from connectors.sandbox import kombo_wire as wire
from connectors.sandbox.records import World

__all__ = ["KOMBO_PREFIX", "KomboTenant", "build_kombo_app", "kombo_error_body"]

KOMBO_PREFIX = "/kombo/v1"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 250

AUTH_INVALID = "PLATFORM.AUTHENTICATION_INVALID"
INPUT_INVALID = "PLATFORM.INPUT_INVALID"
INTEGRATION_NOT_FOUND = "PLATFORM.INTEGRATION_NOT_FOUND"
_TITLES = {
    AUTH_INVALID: "Authentication failed.",
    INPUT_INVALID: "The request input is invalid.",
    INTEGRATION_NOT_FOUND: "The integration was not found.",
    "PLATFORM.RATE_LIMIT_EXCEEDED": "Rate limit exceeded.",
    "PLATFORM.UNKNOWN_ERROR": "An unknown error occurred.",
}
# Kombo's documented pattern for `updated_after`.
_UPDATED_AFTER = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?)?Z?", re.ASCII
)
_COMMON_FILTERS = ("updated_after", "include_deleted", "ignore_unsupported_filters")

RowT = TypeVar("RowT")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True, slots=True)
class KomboTenant:
    """One Kombo integration served by the emulator.

    Attributes:
        api_key: The bearer token that unlocks this integration (never logged or echoed).
        integration_id: Value of the ``X-Integration-Id`` header, e.g. ``demo:acme-learning``.
        world: The data this integration serves.
    """

    api_key: str = field(repr=False)
    integration_id: str
    world: World = field(repr=False)


def kombo_error_body(code: str | None, message: str) -> dict[str, Any]:
    """Kombo's ``ErrorResponseGeneral`` body.

    Args:
        code: A Kombo error code such as ``PLATFORM.INPUT_INVALID``, or None.
        message: The human-readable detail (always present in Kombo's errors).

    Returns:
        ``{"status": "error", "error": {code, title, message, log_url}}``.
    """
    title = _TITLES.get(code or "")
    return {
        "status": "error",
        "error": {"code": code, "title": title, "message": message, "log_url": None},
    }


class _KomboError(Exception):
    def __init__(self, status: int, code: str | None, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> web.Response:
        return web.json_response(kombo_error_body(self.code, self.message), status=self.status)


def _reject(message: str, status: int = 400, code: str = INPUT_INVALID) -> NoReturn:
    raise _KomboError(status, code, message)


def _authenticate(request: web.Request, tenants: Mapping[str, KomboTenant]) -> KomboTenant:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        _reject("Missing or malformed Authorization header.", 401, AUTH_INVALID)
    encoded = key.encode()
    if not any(hmac.compare_digest(encoded, t.api_key.encode()) for t in tenants.values()):
        _reject("The API key is invalid.", 401, AUTH_INVALID)
    integration_id = request.headers.get("X-Integration-Id", "").strip()
    if not integration_id:
        _reject("The X-Integration-Id header is required.")
    tenant = tenants.get(integration_id)
    if tenant is None:
        _reject(f"Integration {integration_id!r} was not found.", 404, INTEGRATION_NOT_FOUND)
    if not hmac.compare_digest(encoded, tenant.api_key.encode()):
        message = f"The API key has no access to integration {integration_id!r}."
        _reject(message, 401, AUTH_INVALID)
    return tenant


def _page_size(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if re.fullmatch(r"[0-9]{1,6}", raw, re.ASCII) is None or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        _reject(f"page_size must be an integer between 1 and {MAX_PAGE_SIZE}.")
    return int(raw)


def _updated_after(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    match = _UPDATED_AFTER.fullmatch(raw)
    if match is None:
        _reject("updated_after must be formatted as YYYY-MM-DDTHH:mm:ss.sssZ.")
    year, month, day, hour, minute, second, fraction = match.groups()
    micros = int((fraction or "0").ljust(6, "0")[:6])
    try:
        return datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0),
            int(second or 0), micros, tzinfo=UTC,
        )  # fmt: skip
    except ValueError:
        _reject("updated_after is not a valid date-time.")


def _flag(raw: str | None, name: str) -> bool:
    if raw is None:
        return False
    if raw not in ("true", "false"):
        _reject(f"{name} must be 'true' or 'false'.")
    return raw == "true"


def _digest(integration_id: str, path: str, filters: Mapping[str, str]) -> str:
    canonical = json.dumps([integration_id, path, sorted(filters.items())], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _encode_cursor(offset: int, digest: str) -> str:
    payload = json.dumps({"offset": offset, "filters": digest}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode("ascii")


def _decode_cursor(raw: str, digest: str) -> int:
    try:
        payload = json.loads(base64.b64decode(raw.encode("ascii"), altchars=b"-_", validate=True))
    except (UnicodeError, binascii.Error, ValueError):
        _reject("The cursor is invalid.")
    offset = payload.get("offset") if isinstance(payload, dict) else None
    if type(offset) is not int or offset < 0 or set(payload) != {"offset", "filters"}:
        _reject("The cursor is invalid.")
    if not isinstance(payload["filters"], str) or not hmac.compare_digest(
        payload["filters"], digest
    ):
        _reject("The cursor was created for different filters; keep them constant.")
    return offset


def _list_page(
    request: web.Request, tenant: KomboTenant, path: str, endpoint: wire.Endpoint[RowT]
) -> dict[str, Any]:
    query = request.query
    size = _page_size(query.get("page_size"))
    since = _updated_after(query.get("updated_after"))
    include_deleted = _flag(query.get("include_deleted"), "include_deleted")
    filter_names = (*_COMMON_FILTERS, *endpoint.filters)
    used = {name: query[name] for name in filter_names if name in query}
    digest = _digest(tenant.integration_id, path, used)
    cursor = query.get("cursor")
    offset = 0 if cursor is None else _decode_cursor(cursor, digest)

    world = tenant.world
    wanted: list[tuple[Callable[[World, RowT], str], frozenset[str]]] = []
    for name, value_of in endpoint.filters.items():
        if name in query:
            values = (v.strip() for v in query[name].split(","))
            lower = name in endpoint.case_insensitive
            wanted.append((value_of, frozenset(v.lower() if lower else v for v in values if v)))
    rows = [
        row
        for row in endpoint.rows(world)
        if (include_deleted or endpoint.deleted_at(row) is None)
        # Exclusive, as the name says: a record changed exactly at `since` is not "after".
        and (since is None or endpoint.updated_at(row) > since)
        and all(value_of(world, row) in values for value_of, values in wanted)
    ]
    end = offset + size
    return {
        "status": "success",
        "data": {
            "next": _encode_cursor(end, digest) if end < len(rows) else None,
            "results": [
                endpoint.serialize(world, row, include_deleted) for row in rows[offset:end]
            ],
        },
    }


def _handler(
    tenants: Mapping[str, KomboTenant], path: str, endpoint: wire.Endpoint[RowT]
) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            tenant = _authenticate(request, tenants)
            return web.json_response(_list_page(request, tenant, path, endpoint))
        except _KomboError as error:
            return error.response()

    return handle


@web.middleware
async def _unmatched_routes(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Unknown paths and methods answer with Kombo's error body, not aiohttp's text page."""
    problem = request.match_info.http_exception
    if problem is None:
        return await handler(request)
    message = f"No route for {request.method} {request.path}."
    return web.json_response(kombo_error_body(None, message), status=problem.status)


def build_kombo_app(tenants: Mapping[str, KomboTenant]) -> web.Application:
    """The Kombo emulator as an aiohttp sub-application, to be mounted at ``/kombo/v1``.

    Args:
        tenants: Integrations keyed by their ``integration_id``.

    Returns:
        An application serving ``GET /lms/users``, ``/lms/courses``,
        ``/lms/course-progressions`` and ``/lms/skills``.
    """
    for key, tenant in tenants.items():
        if key != tenant.integration_id:
            message = f"tenant {tenant.integration_id!r} registered as {key!r}"
            raise ValueError(message)
    frozen = dict(tenants)
    app = web.Application(middlewares=[_unmatched_routes])
    for path, endpoint in wire.ENDPOINTS.items():
        app.router.add_get(path, _handler(frozen, path, endpoint), allow_head=False)
    return app
