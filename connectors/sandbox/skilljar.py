"""Skilljar's REST API v1 emulated over a generated :class:`~connectors.sandbox.world.World`.

Mount the application returned by :func:`build_skilljar_app` at ``/skilljar``; paths
below it are Skilljar's, e.g. ``/skilljar/v1/users``. Generated worlds for Skilljar use
``generate_world(..., id_style="lower36")`` (Skilljar IDs are ``[0-9a-z]+``).

World → wire encoding (serialisers in :mod:`connectors.sandbox.skilljar_wire`). Dates are
Django REST Framework's: ISO 8601 in UTC ending in ``Z``, with microseconds when non-zero
(``2026-01-17T19:49:15.201000Z``). Skilljar has no tombstones: a deleted course, and every
progression that is deleted or on a deleted course, is not served at all.

- Users, ``/v1/users`` and ``/v1/users/{id}``: every world user, deleted ones too, in world
  order: ``{user: {id, email, first_name, last_name}, registration_count, completion_count
  (the user's served progressions, and those COMPLETED), signed_up_at: created_at,
  latest_activity: changed_at, inactive_at}`` where ``inactive_at`` = deleted_at if set,
  else changed_at if the status is INACTIVE, else null.
- Courses, ``/v1/courses`` and ``/v1/courses/{id}``: the live courses in world order:
  ``{id, title, short_description (both the newest revision's), long_description_html:
  "" (the spec's type is a non-null string), labels: [], enforce_sequential_navigation:
  false, created_at, modified_at: changed_at}``.
- Published courses of the tenant's domain, ``/v1/domains/{domain}/published-courses``
  (and ``/{id}``): every revision of every live course, in course then revision order:
  ``{id: revision id, course: REF, slug: "<course remote_id>-v<n>", course_url: revision
  url, hidden: revision status is INACTIVE, registration_required: false}`` with REF =
  ``{id: course id, title: the newest revision's title, lesson_count: 10,
  required_lesson_count: 10}``.
- Course progress, ``/v1/users/{id}/published-courses`` (and ``/{published_course_id}``):
  a plain JSON array, as the spec types it (no pagination, no ``page_size``), of one item
  per served progression of the user, in world order: ``{published_course_id:
  revision_id, domain_name: the tenant's domain, enrolled_at, enrollment_id: progression
  id, course: REF, course_progress: {course_progress_id: progression id,
  completed_lesson_count = completed_required_lesson_count = N, completed_at,
  latest_activity: changed_at, score, max_score, success_status},
  all_enrollments: [{course_progress_id, active, expires_at: null, enrollment_id}]}``.
  By world status: COMPLETED → N = 10, ``success_status`` FAILED if the score is not null
  and below 60 else PASSED, ``score`` = round(score) and ``max_score`` = 100 when the score
  is not null, else both null; IN_PROGRESS → N = clamp(round((progress_percent or 50) /
  10), 1, 9); ENROLLED → N = 0; DROPPED → N = clamp(round((progress_percent or 0) / 10), 0,
  9). Not COMPLETED → ``completed_at``, ``success_status``, ``score``, ``max_score`` null.
  The one enrolment is ``active`` false for DROPPED, true otherwise.
- Enrolments, ``/v1/domains/{domain}/published-courses/{id}/enrollments``: the served
  progressions on that revision, in world order: ``{id: progression id, user: {id, email,
  first_name, last_name}, enrolled_at, active (as above), purchase:
  null}``.

Requests: every route is GET. ``Authorization: Basic base64("<api_key>:")`` picks the
tenant (the password is ignored); a missing, malformed or unknown key gets 401
``{"detail": …}`` before anything else is looked at. Unknown IDs, a domain other than
the tenant's and (whatever the credentials) unknown routes get 404 ``{"detail": "Not
found."}``; another method than GET 405 ``{"detail": 'Method "X"
not allowed.'}``. Lists answer ``{count, next, previous, results}`` with ``count`` the size of
the whole (filtered) list and ``next``/``previous`` absolute URLs (null at either end).
``/v1/users`` pages by an opaque ``cursor`` (``previous`` always null) unless ``page`` is
given; every other list by ``page`` (1-based; out of range → 404 ``{"detail": "Invalid
page."}``). ``page_size`` as DRF reads it: not a positive integer → the default (1000 for
users and enrolments, 100 otherwise), above 1000 → 1000 (Skilljar's maximum is
UNVERIFIED). Filters: ``email`` on ``/v1/users`` (compared case-insensitively: UNVERIFIED
at Skilljar) and ``course__id`` on published courses. ``/v1/ping`` answers an empty 200.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from aiohttp import web

from connectors.sandbox import skilljar_wire as wire
from connectors.sandbox.records import World, WorldCourse, WorldProgression, WorldUser

__all__ = ["SKILLJAR_PREFIX", "SkilljarTenant", "build_skilljar_app", "skilljar_error_body"]

SKILLJAR_PREFIX = "/skilljar"
SMALL_PAGE, LARGE_PAGE = 100, 1000  # Skilljar's documented defaults per endpoint
MAX_PAGE_SIZE = 1000
NOT_FOUND = "Not found."

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SkilljarTenant:
    """One Skilljar organisation and the one domain it serves.

    Attributes:
        api_key: The organisation's API key (Basic username, empty password).
        domain: The domain whose published courses and enrolments are served.
        world: The data served.
        ignores_page_size: Serve every list in pages of its default size whatever
            ``page_size`` says (Skilljar's spec declares no ``page_size`` on ``/v1/users``:
            whether Skilljar honours it there is UNVERIFIED).
    """

    api_key: str = field(repr=False)
    domain: str
    world: World = field(repr=False)
    ignores_page_size: bool = False


def skilljar_error_body(status: int, message: str) -> dict[str, Any]:
    """Django REST Framework's error body, as Skilljar v1 sends it for any status."""
    del status
    return {"detail": message}


class _Reject(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _reject(status: int, message: str = NOT_FOUND) -> NoReturn:
    raise _Reject(status, message)


@dataclass
class _Org:
    """One tenant's world, indexed the way the routes read it."""

    tenant: SkilljarTenant
    courses: dict[str, WorldCourse] = field(init=False)
    published: dict[str, tuple[WorldCourse, int]] = field(init=False)
    progress: dict[str, list[WorldProgression]] = field(init=False)
    enrolled: dict[str, list[WorldProgression]] = field(init=False)

    def __post_init__(self) -> None:
        world = self.tenant.world
        self.courses = {c.id: c for c in world.courses if c.deleted_at is None}
        self.published = {
            revision.id: (course, index)
            for course in self.courses.values()
            for index, revision in enumerate(course.revisions)
        }
        self.progress, self.enrolled = {}, {}
        for row in world.progressions:
            if row.deleted_at is None and row.course_id in self.courses:
                self.progress.setdefault(row.user_id, []).append(row)
                self.enrolled.setdefault(row.revision_id, []).append(row)

    @property
    def world(self) -> World:
        return self.tenant.world

    def user(self, user_id: str) -> WorldUser:
        try:
            return self.world.user(user_id)
        except KeyError:
            _reject(404)

    def user_json(self, row: WorldUser) -> Json:
        return wire.user(row, self.progress.get(row.id, []))

    def progress_json(self, row: WorldProgression) -> Json:
        return wire.progress(self.world, self.tenant.domain, row)


def _authenticate(request: web.Request, orgs: Sequence[_Org]) -> _Org:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        _reject(401, "Authentication credentials were not provided.")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        _reject(401, "Invalid basic header. Credentials not correctly base64 encoded.")
    username, colon, _password = decoded.partition(":")
    if not colon:
        _reject(401, "Invalid basic header. Credentials string should not contain spaces.")
    for org in orgs:
        if hmac.compare_digest(username.encode(), org.tenant.api_key.encode()):
            return org
    _reject(401, "Invalid username/password.")


def _check_domain(request: web.Request, org: _Org) -> None:
    if request.match_info["domain"] != org.tenant.domain:
        _reject(404)


# -- pagination ----------------------------------------------------------------------------


def _page_size(request: web.Request, org: _Org, default: int) -> int:
    """DRF's reading: anything but a positive integer is the default; too large is capped."""
    if org.tenant.ignores_page_size:
        return default
    raw = request.query.get("page_size", "")
    if not raw.isascii() or not raw.isdigit() or int(raw) == 0:
        return default
    return min(int(raw), MAX_PAGE_SIZE)


def _paged(request: web.Request, org: _Org, rows: Sequence[Json], default: int) -> Json:
    """DRF page-number pagination with absolute ``next``/``previous`` links."""
    size = _page_size(request, org, default)
    raw = request.query.get("page", "1")
    pages = max(1, -(-len(rows) // size))
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= pages:
        _reject(404, "Invalid page.")
    page = int(raw)
    url = request.url
    return {
        "count": len(rows),
        "next": str(url.update_query(page=page + 1)) if page < pages else None,
        "previous": str(url.update_query(page=page - 1)) if page > 1 else None,
        "results": list(rows[(page - 1) * size : page * size]),
    }


def _cursored(request: web.Request, org: _Org, rows: Sequence[Json], default: int) -> Json:
    """Cursor pagination: the cursor is an offset, base64-encoded so clients treat it as opaque."""
    size = _page_size(request, org, default)
    offset = 0
    if "cursor" in request.query:
        try:
            decoded = base64.urlsafe_b64decode(request.query["cursor"].encode()).decode()
            offset = int(decoded.removeprefix("o="))
        except (binascii.Error, UnicodeDecodeError, ValueError):
            _reject(404, "Invalid cursor")
        if not 0 <= offset <= len(rows):
            _reject(404, "Invalid cursor")
    end = offset + size
    cursor = base64.urlsafe_b64encode(f"o={end}".encode()).decode()
    return {
        "count": len(rows),
        "next": str(request.url.update_query(cursor=cursor)) if end < len(rows) else None,
        "previous": None,
        "results": list(rows[offset:end]),
    }


# -- routes --------------------------------------------------------------------------------

Reply = Callable[[web.Request, _Org], Json | list[Json] | None]


def _users(request: web.Request, org: _Org) -> Json:
    email = request.query.get("email")
    rows = [
        org.user_json(u)
        for u in org.world.users
        if email is None or u.email.lower() == email.lower()
    ]
    if "page" in request.query:  # Skilljar: `page` switches back to page-number paging
        return _paged(request, org, rows, LARGE_PAGE)
    return _cursored(request, org, rows, LARGE_PAGE)


def _one_user(request: web.Request, org: _Org) -> Json:
    return org.user_json(org.user(request.match_info["user_id"]))


def _courses(request: web.Request, org: _Org) -> Json:
    return _paged(request, org, [wire.course(c) for c in org.courses.values()], SMALL_PAGE)


def _one_course(request: web.Request, org: _Org) -> Json:
    course = org.courses.get(request.match_info["course_id"])
    if course is None:
        _reject(404)
    return wire.course(course)


def _published(request: web.Request, org: _Org) -> Json:
    _check_domain(request, org)
    course_id = request.query.get("course__id")
    rows = [
        wire.published_course(course, index)
        for course, index in org.published.values()
        if course_id is None or course.id == course_id
    ]
    return _paged(request, org, rows, SMALL_PAGE)


def _one_published(request: web.Request, org: _Org) -> Json:
    _check_domain(request, org)
    found = org.published.get(request.match_info["published_id"])
    if found is None:
        _reject(404)
    return wire.published_course(*found)


def _enrollments(request: web.Request, org: _Org) -> Json:
    _check_domain(request, org)
    published_id = request.match_info["published_id"]
    if published_id not in org.published:
        _reject(404)
    rows = [wire.enrollment(org.world, row) for row in org.enrolled.get(published_id, [])]
    return _paged(request, org, rows, LARGE_PAGE)


def _progress_of(request: web.Request, org: _Org) -> list[Json]:
    user = org.user(request.match_info["user_id"])
    return [org.progress_json(row) for row in org.progress.get(user.id, [])]


def _one_progress(request: web.Request, org: _Org) -> Json:
    user = org.user(request.match_info["user_id"])
    wanted = request.match_info["published_id"]
    for row in org.progress.get(user.id, []):
        if row.revision_id == wanted:
            return org.progress_json(row)
    _reject(404)


def _ping(request: web.Request, org: _Org) -> None:
    del request, org


ROUTES: dict[str, Reply] = {
    "/v1/ping": _ping,
    "/v1/users": _users,
    "/v1/users/{user_id}": _one_user,
    "/v1/courses": _courses,
    "/v1/courses/{course_id}": _one_course,
    "/v1/domains/{domain}/published-courses": _published,
    "/v1/domains/{domain}/published-courses/{published_id}": _one_published,
    "/v1/domains/{domain}/published-courses/{published_id}/enrollments": _enrollments,
    "/v1/users/{user_id}/published-courses": _progress_of,
    "/v1/users/{user_id}/published-courses/{published_id}": _one_progress,
}


def _handler(orgs: Sequence[_Org], reply: Reply) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            body = reply(request, _authenticate(request, orgs))
        except _Reject as rejected:
            payload = skilljar_error_body(rejected.status, rejected.message)
            return web.json_response(payload, status=rejected.status)
        return web.Response(status=200) if body is None else web.json_response(body)

    return handle


@web.middleware
async def _unmatched_routes(request: web.Request, handler: Handler) -> web.StreamResponse:
    problem = request.match_info.http_exception
    if problem is None:
        return await handler(request)
    if problem.status == 405:
        message = f'Method "{request.method}" not allowed.'
        return web.json_response(skilljar_error_body(405, message), status=405)
    return web.json_response(skilljar_error_body(404, NOT_FOUND), status=404)


def build_skilljar_app(tenants: Sequence[SkilljarTenant]) -> web.Application:
    """The Skilljar emulator as an aiohttp sub-application, to mount at ``/skilljar``.

    Args:
        tenants: The organisations served; the API key picks one.

    Returns:
        An application serving the GET routes of :data:`ROUTES`.

    Raises:
        ValueError: Two tenants share an API key.
    """
    if len({t.api_key for t in tenants}) != len(tenants):
        message = "two Skilljar tenants share an API key"
        raise ValueError(message)
    orgs = [_Org(tenant) for tenant in tenants]
    app = web.Application(middlewares=[_unmatched_routes])
    for path, reply in ROUTES.items():
        app.router.add_get(path, _handler(orgs, reply), allow_head=False)
    return app
