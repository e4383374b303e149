"""Absorb's Integration API v2 emulated over a generated :class:`~connectors.sandbox.world.World`.

Mount the application returned by :func:`build_absorb_app` at ``/absorb``. Wire format
and errors follow ``shared/vendors/absorb.md`` and the v2 enrollments reference (seed 002).

Routes: ``POST /authenticate``; ``GET /users``, ``/users/{id}``, ``/users/{id}/enrollments``,
``/courses``, ``/courses/{id}``, ``/courses/{id}/enrollments``, ``/enrollments/{id}`` and
``/bulk/studentcourses``.

World → wire encoding (every date-time is UTC ``YYYY-MM-DDTHH:MM:SS.fffZ``, the seed's
``Z`` form with milliseconds so world times round-trip; absent ones are ``null``):

* Which records exist. Absorb has no tombstones: a course with ``deleted_at`` and a
  progression with ``deleted_at`` are not served anywhere (lists, look-ups, bulk: 404 or
  absent), nor is any progression of a deleted course. Every world user is served (a
  deleted one already has ``status == "INACTIVE"``). Lists keep world order.
* User: ``{id, departmentId: null, firstName, middleName: null, lastName, username:
  email lower-cased, emailAddress: email as in the world, externalId: remote_id,
  activeStatus: 0 if status == "ACTIVE" else 1, isLearner: true, isAdmin: false,
  dateAdded: created_at, dateEdited: changed_at, lastLoginDate: null}``.
* Course, from its NEWEST revision ``revisions[-1]``: ``{id, courseType: "OnlineCourse",
  name: newest.title, description: newest.description, externalId: remote_id,
  activeStatus: 0 if newest.status == "ACTIVE" else 1, dateAdded: created_at,
  dateEdited: the course's changed_at}``. No version list, no URL, no skills.
* Enrollment, one per served world progression (all ``isActive: true``, no historical
  duplicates): ``{id: progression id, courseId, courseName: newest revision title,
  progress: progress_percent or 0 when None, score (null when None), status,
  dateCompleted: completed_at, dateExpires: null, dateEdited: changed_at, dateAdded:
  enrolled_at, fullName: "first last", courseVersionId: revision_id, userId,
  acceptedTermsAndConditions: false, timeSpentTicks: time_spent_seconds * 10^7 (0 when
  None), timeSpent: "HH:MM:SS" or "D.HH:MM:SS", dateStarted: null, enrollmentKeyId: null,
  certificateId: null, credits: null, isActive: true, dateDue: due_at, accessDate: null,
  jobTitle: null, courseCollectionId: null, avatar: null}``.
* Enrollment status: ENROLLED → 0, IN_PROGRESS → 1, COMPLETED → 5 (Failed) when score is
  not None and < 60, else 3 (Complete), DROPPED → 4 (NotComplete).

Lists answer ``{totalItems, returnedItems, limit, offset, users|courses|enrollments}``:
``_limit`` (1 to 1000, default 20) and ``_offset`` (a 0-based PAGE index, 0 to 65535), or their
deprecated spellings ``limit``/``offset``; out of range is 422. ``_filter`` (see
:mod:`~connectors.sandbox.absorb_wire`) applies to every field of the served object; the
deprecated ``modifiedSince`` means ``dateEdited`` strictly after it; both may be combined
(AND). ``_sort`` and other parameters are ignored. The bulk call answers a plain array of
the enrollments whose userId is in ``userIds`` and courseId in ``courseIds`` (either may
be omitted, not both: 422); each may be repeated or comma-separated.

Auth: every request needs the ``x-api-key`` of a tenant (else 401) and ``x-api-version:
2`` (else 400; Absorb's behaviour without it is UNVERIFIED). ``POST /authenticate`` takes
``{username, password, privateKey}`` (missing → 400; privateKey must equal the
``x-api-key``, and username and password must be the tenant's, else 401) and answers the
token as a JSON string. Other routes need ``Authorization: <token>`` (``Bearer <token>``
also accepted) holding the tenant's current token, else 401. Tokens are deterministic
(a digest of the tenant and how many tokens it was issued) and expire only when told
(``ABSORB_PORTALS``' ``expire_tokens``, the control endpoint's ``POST
/__emulator/absorb/expire-tokens``: what four hours do at Absorb); a new login for a tenant
invalidates its previous token, as Absorb documents.
Errors use Absorb's ``GenericErrorResponse``, unknown routes included (404/405).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

from aiohttp import web

from connectors.sandbox import absorb_wire as wire
from connectors.sandbox.records import World

__all__ = [
    "ABSORB_PORTALS",
    "ABSORB_PREFIX",
    "AbsorbPortals",
    "AbsorbTenant",
    "absorb_error_body",
    "build_absorb_app",
]

ABSORB_PREFIX = "/absorb"
#: The app's :class:`AbsorbPortals` (tokens included), for the emulator's control endpoint.
ABSORB_PORTALS: web.AppKey[AbsorbPortals] = web.AppKey("absorb_portals")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000
MAX_OFFSET = 65535

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class AbsorbTenant:
    """One Absorb portal and the admin user the connector logs in as.

    Attributes:
        api_key: The portal's private API key (``x-api-key``; never logged or echoed).
        username: The admin user's name.
        password: The admin user's password.
        world: The data this portal serves.
    """

    api_key: str = field(repr=False)
    username: str
    password: str = field(repr=False)
    world: World = field(repr=False)


def absorb_error_body(status: int, message: str, validations: Sequence[str] = ()) -> dict[str, Any]:
    """Absorb's ``GenericErrorResponse`` for ``status`` (``code`` repeats the status)."""
    return {
        "validations": list(validations),
        "code": status,
        "message": message,
        "term": "",
        "_meta": {},
    }


class _AbsorbError(Exception):
    def __init__(self, status: int, message: str, validations: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status, self.message, self.validations = status, message, validations

    def response(self) -> web.Response:
        body = absorb_error_body(self.status, self.message, self.validations)
        return web.json_response(body, status=self.status)


def _fail(status: int, message: str, *validations: str) -> NoReturn:
    raise _AbsorbError(status, message, validations)


@dataclass(slots=True)
class _Served:
    """One tenant's records as served: serialised once, indexed by lower-case ID."""

    users: list[Row]
    courses: list[Row]
    enrollments: list[Row]
    user_ids: dict[str, Row] = field(init=False)
    course_ids: dict[str, Row] = field(init=False)
    enrollment_ids: dict[str, Row] = field(init=False)

    def __post_init__(self) -> None:
        self.user_ids = {row["id"].lower(): row for row in self.users}
        self.course_ids = {row["id"].lower(): row for row in self.courses}
        self.enrollment_ids = {row["id"].lower(): row for row in self.enrollments}

    @classmethod
    def of(cls, world: World) -> _Served:
        live_courses = [c for c in world.courses if c.deleted_at is None]
        live_ids = {c.id for c in live_courses}
        return cls(
            users=[wire.user(u) for u in world.users],
            courses=[wire.course(c) for c in live_courses],
            enrollments=[
                wire.enrollment(world, p)
                for p in world.progressions
                if p.deleted_at is None and p.course_id in live_ids
            ],
        )


@dataclass(slots=True)
class AbsorbPortals:
    """Tenants, their served records and the one live token of each."""

    tenants: Sequence[AbsorbTenant]
    served: list[_Served] = field(init=False)
    issued: list[int] = field(init=False)
    live: dict[str, int] = field(default_factory=dict)  # token -> tenant index

    def __post_init__(self) -> None:
        self.served = [_Served.of(t.world) for t in self.tenants]
        self.issued = [0] * len(self.tenants)

    def keyed(self, request: web.Request) -> list[int]:
        """Indexes of the tenants whose key the request carries; 401/400 otherwise."""
        key = request.headers.get("x-api-key", "").encode()
        found = [
            i for i, t in enumerate(self.tenants) if hmac.compare_digest(key, t.api_key.encode())
        ]
        if not key or not found:
            _fail(401, "Invalid or missing API key.")
        if request.headers.get("x-api-version", "").strip() != "2":
            _fail(400, "Unsupported API version: send x-api-version: 2.")
        return found

    def login(self, index: int) -> str:
        self.issued[index] += 1
        tenant = self.tenants[index]
        seed = f"absorb-token:{index}:{tenant.username}:{self.issued[index]}"
        token = hashlib.sha256(seed.encode()).hexdigest()
        # One live token per user: the new one replaces the old.
        self.live = {t: i for t, i in self.live.items() if i != index}
        self.live[token] = index
        return token

    def expire_tokens(self) -> int:
        """Every live token stops working, as after four hours; returns how many."""
        expired = len(self.live)
        self.live.clear()
        return expired

    def tenant_of(self, request: web.Request) -> _Served:
        keyed = self.keyed(request)
        token = request.headers.get("Authorization", "").strip()
        if token[:7].lower() == "bearer ":
            token = token[7:].strip()
        index = self.live.get(token)
        if index is None or index not in keyed:
            _fail(401, "Invalid or expired token.")
        return self.served[index]


async def _authenticate(request: web.Request, portals: AbsorbPortals) -> web.Response:
    keyed = portals.keyed(request)
    try:
        body = json.loads(await request.read())
    except ValueError:
        body = None
    if not isinstance(body, dict):
        _fail(400, "The request body must be a JSON object.")
    names = ("username", "password", "privateKey")
    missing = [f"{name} is required." for name in names if not _text(body.get(name))]
    if missing:
        _fail(400, "The request is invalid.", *missing)
    key = request.headers["x-api-key"]
    for index in keyed:
        tenant = portals.tenants[index]
        if (
            hmac.compare_digest(body["privateKey"].encode(), key.encode())
            and hmac.compare_digest(body["username"].encode(), tenant.username.encode())
            and hmac.compare_digest(body["password"].encode(), tenant.password.encode())
        ):
            return web.json_response(portals.login(index))
    _fail(401, "Invalid username, password or private key.")


def _text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _number(
    query: Mapping[str, str], names: tuple[str, str], default: int, top: int, low: int
) -> int:
    raw = next((query[name] for name in names if name in query), None)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= top:
        _fail(422, "The request is invalid.", f"{names[0]} must be between {low} and {top}.")
    return int(raw)


def _matching(rows: Sequence[Row], query: Mapping[str, str]) -> list[Row]:
    fields = rows[0].keys() if rows else ()
    predicates: list[wire.Predicate] = []
    if "_filter" in query:
        try:
            predicates.append(wire.parse_filter(query["_filter"], fields))
        except wire.FilterError as exc:
            _fail(422, "The filter is invalid.", str(exc))
    if "modifiedSince" in query:
        try:
            since = wire.parse_datetime(query["modifiedSince"])
        except ValueError:
            _fail(422, "The request is invalid.", "modifiedSince must be a date-time.")
        predicates.append(_edited_after(since))
    return [row for row in rows if all(p(row) for p in predicates)]


def _edited_after(since: datetime) -> wire.Predicate:
    def check(row: Mapping[str, Any]) -> bool:
        edited = row.get("dateEdited")
        return isinstance(edited, str) and wire.parse_datetime(edited) > since

    return check


def _page(rows: Sequence[Row], query: Mapping[str, str], key: str) -> dict[str, Any]:
    limit = _number(query, ("_limit", "limit"), DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, 1)
    offset = _number(query, ("_offset", "offset"), 0, MAX_OFFSET, 0)
    matching = _matching(rows, query)
    items = matching[offset * limit : (offset + 1) * limit]
    return {
        "totalItems": len(matching),
        "returnedItems": len(items),
        "limit": limit,
        "offset": offset,
        key: items,
    }


def _one(index: Mapping[str, Row], record_id: str, what: str) -> Row:
    row = index.get(record_id.lower())
    if row is None:
        _fail(404, f"{what} not found.")
    return row


def _values(request: web.Request, name: str) -> set[str]:
    joined = ",".join(request.query.getall(name, []))
    return {value.strip().lower() for value in joined.split(",") if value.strip()}


def _bulk(served: _Served, request: web.Request) -> list[Row]:
    users, courses = _values(request, "userIds"), _values(request, "courseIds")
    if not users and not courses:
        _fail(422, "The request is invalid.", "userIds or courseIds is required.")
    return [
        row
        for row in served.enrollments
        if (not users or row["userId"].lower() in users)
        and (not courses or row["courseId"].lower() in courses)
    ]


def _read(request: web.Request, served: _Served) -> Any:
    """The answer to an authenticated GET, by route name."""
    route, query = request.match_info.route.name, request.query
    record_id = request.match_info.get("id", "")
    if route == "users":
        return _page(served.users, query, "users")
    if route == "user":
        return _one(served.user_ids, record_id, "User")
    if route == "user-enrollments":
        user_id = _one(served.user_ids, record_id, "User")["id"]
        rows = [r for r in served.enrollments if r["userId"] == user_id]
        return _page(rows, query, "enrollments")
    if route == "courses":
        return _page(served.courses, query, "courses")
    if route == "course":
        return _one(served.course_ids, record_id, "Course")
    if route == "course-enrollments":
        course_id = _one(served.course_ids, record_id, "Course")["id"]
        rows = [r for r in served.enrollments if r["courseId"] == course_id]
        return _page(rows, query, "enrollments")
    if route == "enrollment":
        return _one(served.enrollment_ids, record_id, "Enrollment")
    return _bulk(served, request)


@web.middleware
async def _absorb_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Unknown routes and every refusal answer with Absorb's error body."""
    problem = request.match_info.http_exception
    if problem is not None:
        message = f"No route for {request.method} {request.path}."
        return web.json_response(absorb_error_body(problem.status, message), status=problem.status)
    try:
        return await handler(request)
    except _AbsorbError as error:
        return error.response()


_GET_ROUTES = {
    "/users": "users",
    "/users/{id}": "user",
    "/users/{id}/enrollments": "user-enrollments",
    "/courses": "courses",
    "/courses/{id}": "course",
    "/courses/{id}/enrollments": "course-enrollments",
    "/enrollments/{id}": "enrollment",
    "/bulk/studentcourses": "bulk",
}


def build_absorb_app(tenants: Sequence[AbsorbTenant]) -> web.Application:
    """The Absorb emulator as an aiohttp sub-application, to be mounted at ``/absorb``.

    Args:
        tenants: The portals; the ``x-api-key`` and then the token pick the tenant. Two
            tenants may share a key (two admins of one portal) but not also a username.

    Returns:
        An application serving the routes listed in this module's docstring.
    """
    pairs = [(t.api_key, t.username) for t in tenants]
    if len(set(pairs)) != len(pairs):
        message = "two Absorb tenants share an API key and username"
        raise ValueError(message)
    portals = AbsorbPortals(tenants)

    async def authenticate(request: web.Request) -> web.StreamResponse:
        return await _authenticate(request, portals)

    async def read(request: web.Request) -> web.StreamResponse:
        return web.json_response(_read(request, portals.tenant_of(request)))

    app = web.Application(middlewares=[_absorb_errors])
    app[ABSORB_PORTALS] = portals
    app.router.add_post("/authenticate", authenticate)
    for path, name in _GET_ROUTES.items():
        app.router.add_get(path, read, name=name, allow_head=False)
    return app
