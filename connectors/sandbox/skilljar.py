"""Skilljar's REST API v1 emulated over a generated :class:`~connectors.sandbox.world.World`.

Mount the application returned by :func:`build_skilljar_app` at ``/skilljar``; paths
below it are Skilljar's, e.g. ``/skilljar/v1/users``. Generated worlds for Skilljar use
``generate_world(..., id_style="lower36")`` (Skilljar IDs are ``[0-9a-z]+``).

World → wire encoding (dates ``YYYY-MM-DDTHH:MM:SS.sssZ`` in UTC):

- users (all, deleted ones too, world order): ``{user: {id, email, first_name,
  last_name}, signed_up_at: created_at, latest_activity: changed_at, inactive_at:
  deleted_at, else changed_at when status INACTIVE, else null, registration_count,
  completion_count}``; ``GET /v1/users/{id}`` answers the same object.
- courses (not deleted, world order): ``{id, title, short_description (the newest
  revision's title and description), long_description_html: null, labels: [],
  created_at, modified_at: changed_at}``.
- published courses of the tenant's domain: every revision of a live course, course
  order then revision order: ``{id: revision id, course: {id, title: the newest
  revision's title, lesson_count: 10, required_lesson_count: 10}, course_url: revision
  url, hidden: revision status INACTIVE, slug}``.
- course progress (``/v1/users/{id}/published-courses``), one item per world progression
  that is not deleted and whose course is not deleted, in world order:
  ``{published_course_id: revision_id, domain_name, enrolled_at, enrollment_id:
  progression id, course: as above, course_progress: {course_progress_id: progression
  id, completed_lesson_count = completed_required_lesson_count = n, completed_at,
  latest_activity: changed_at, score, max_score, success_status}, all_enrollments: [{
  enrollment_id, course_progress_id, active, expires_at: null}]}`` where, by status:
  COMPLETED → n = 10, ``completed_at`` set, ``success_status`` FAILED when score < 60
  else PASSED, ``score`` = round(score) and ``max_score`` 100 when the world has a score
  (else both null); IN_PROGRESS → n = clamp(round((progress or 50) / 10), 1, 9);
  ENROLLED → n = 0; DROPPED → n = clamp(round((progress or 0) / 10), 0, 9) and the
  enrolment inactive (``active`` false); every other enrolment is active.
- enrolments of a published course: ``{id: progression id, user: {id, email,
  first_name, last_name}, enrolled_at, expires_at: null, active}``.

Requests: every route is GET; ``Authorization: Basic base64("<api_key>:")`` picks the
tenant, else 401 ``{"detail": …}``; unknown IDs, another domain than the tenant's and
unknown routes get 404 ``{"detail": "Not found."}``. ``/v1/users`` pages by an opaque
``cursor`` (Skilljar's default there), every other list by ``page`` (1-based) and
``page_size``; ``next`` is an absolute URL, ``count`` the list's size. Filters: ``email``
on ``/v1/users`` (compared case-insensitively: UNVERIFIED at Skilljar) and
``course__id`` on published courses.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NoReturn

from aiohttp import web

from connectors.sandbox.records import World, WorldCourse, WorldProgression, WorldUser

__all__ = ["SKILLJAR_PREFIX", "SkilljarTenant", "build_skilljar_app", "skilljar_error_body"]

SKILLJAR_PREFIX = "/skilljar"
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
LESSONS = 10

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SkilljarTenant:
    """One Skilljar organisation and its domain.

    Attributes:
        api_key: The organisation's API key (Basic username, empty password).
        domain: The domain whose published courses and enrolments are served.
        world: The data served.
    """

    api_key: str = field(repr=False)
    domain: str
    world: World = field(repr=False)


def skilljar_error_body(status: int, message: str) -> dict[str, Any]:
    """Django REST Framework's error body, as Skilljar v1 sends it."""
    del status
    return {"detail": message}


class _Reject(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def _reject(status: int, message: str) -> NoReturn:
    raise _Reject(status, message)


def _stamp(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _clamp(value: float, low: int, high: int) -> int:
    return max(low, min(high, round(value)))


# -- serialisers ---------------------------------------------------------------------------


def _person(user: WorldUser) -> Json:
    return {
        "id": user.id,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
    }


def user_json(world: World, user: WorldUser) -> Json:
    inactive = user.deleted_at or (user.changed_at if user.status == "INACTIVE" else None)
    rows = world.progressions_of(user.id)
    return {
        "user": _person(user),
        "signed_up_at": _stamp(user.created_at),
        "latest_activity": _stamp(user.changed_at),
        "inactive_at": _stamp(inactive),
        "registration_count": len(rows),
        "completion_count": sum(1 for p in rows if p.status == "COMPLETED"),
    }


def course_json(course: WorldCourse) -> Json:
    newest = course.revisions[-1]
    return {
        "id": course.id,
        "title": newest.title,
        "short_description": newest.description,
        "long_description_html": None,
        "labels": [],
        "created_at": _stamp(course.created_at),
        "modified_at": _stamp(course.changed_at),
    }


def _course_ref(course: WorldCourse) -> Json:
    return {
        "id": course.id,
        "title": course.revisions[-1].title,
        "lesson_count": LESSONS,
        "required_lesson_count": LESSONS,
    }


def published_json(course: WorldCourse, index: int) -> Json:
    revision = course.revisions[index]
    return {
        "id": revision.id,
        "course": _course_ref(course),
        "course_url": revision.url,
        "slug": f"{course.remote_id}-v{index + 1}",
        "hidden": revision.status == "INACTIVE",
        "registration_required": False,
    }


def _lessons(row: WorldProgression) -> int:
    progress = row.progress_percent
    if row.status == "COMPLETED":
        return LESSONS
    if row.status == "IN_PROGRESS":
        return _clamp((progress if progress is not None else 50) / 10, 1, LESSONS - 1)
    if row.status == "DROPPED":
        return _clamp((progress or 0) / 10, 0, LESSONS - 1)
    return 0


def progress_json(world: World, domain: str, row: WorldProgression) -> Json:
    done = _lessons(row)
    scored = row.status == "COMPLETED" and row.score is not None
    failed = scored and row.score is not None and row.score < 60
    return {
        "published_course_id": row.revision_id,
        "domain_name": domain,
        "enrolled_at": _stamp(row.enrolled_at),
        "enrollment_id": row.id,
        "course": _course_ref(world.course(row.course_id)),
        "course_progress": {
            "course_progress_id": row.id,
            "completed_lesson_count": done,
            "completed_required_lesson_count": done,
            "completed_at": _stamp(row.completed_at),
            "latest_activity": _stamp(row.changed_at),
            "score": round(row.score) if scored and row.score is not None else None,
            "max_score": 100 if scored else None,
            "success_status": ("FAILED" if failed else "PASSED") if row.completed_at else None,
        },
        "all_enrollments": [
            {
                "enrollment_id": row.id,
                "course_progress_id": row.id,
                "active": row.status != "DROPPED",
                "expires_at": None,
            }
        ],
    }


def _enrollment_json(world: World, row: WorldProgression) -> Json:
    return {
        "id": row.id,
        "user": _person(world.user(row.user_id)),
        "enrolled_at": _stamp(row.enrolled_at),
        "expires_at": None,
        "active": row.status != "DROPPED",
    }


# -- the served data of one tenant ---------------------------------------------------------


@dataclass
class _Org:
    tenant: SkilljarTenant
    courses: list[WorldCourse] = field(init=False)
    published: dict[str, tuple[WorldCourse, int]] = field(init=False)
    progress: dict[str, list[WorldProgression]] = field(init=False)

    def __post_init__(self) -> None:
        world = self.tenant.world
        self.courses = [c for c in world.courses if c.deleted_at is None]
        self.published = {
            revision.id: (course, index)
            for course in self.courses
            for index, revision in enumerate(course.revisions)
        }
        self.progress = {}
        for row in world.progressions:
            if row.deleted_at is None and world.course(row.course_id).deleted_at is None:
                self.progress.setdefault(row.user_id, []).append(row)

    def user(self, user_id: str) -> WorldUser:
        try:
            return self.tenant.world.user(user_id)
        except KeyError:
            _reject(404, "Not found.")


def _authenticate(request: web.Request, orgs: Sequence[_Org]) -> _Org:
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not encoded:
        _reject(401, "Authentication credentials were not provided.")
    try:
        username, _, _password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        _reject(401, "Invalid basic header. Credentials not correctly base64 encoded.")
    for org in orgs:
        if hmac.compare_digest(username.encode(), org.tenant.api_key.encode()):
            return org
    _reject(401, "Invalid username/password.")


def _domain(request: web.Request, org: _Org) -> None:
    if request.match_info["domain"] != org.tenant.domain:
        _reject(404, "Not found.")


def _page_size(request: web.Request) -> int:
    raw = request.query.get("page_size", str(DEFAULT_PAGE_SIZE))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        _reject(400, f"page_size must be an integer between 1 and {MAX_PAGE_SIZE}.")
    return int(raw)


def _paged(request: web.Request, rows: Sequence[Json]) -> Json:
    """DRF page-number pagination with absolute ``next``/``previous`` links."""
    size = _page_size(request)
    raw = request.query.get("page", "1")
    if not raw.isdigit() or int(raw) < 1 or (int(raw) - 1) * size > max(len(rows) - 1, 0):
        _reject(404, "Invalid page.")
    page = int(raw)
    start = (page - 1) * size
    url = request.url
    return {
        "count": len(rows),
        "next": str(url.update_query(page=page + 1)) if start + size < len(rows) else None,
        "previous": str(url.update_query(page=page - 1)) if page > 1 else None,
        "results": list(rows[start : start + size]),
    }


def _cursored(request: web.Request, rows: Sequence[Json]) -> Json:
    """``/v1/users``' cursor pagination: an opaque cursor holding the offset."""
    size = _page_size(request)
    offset = 0
    if "cursor" in request.query:
        try:
            offset = int(base64.urlsafe_b64decode(request.query["cursor"].encode()).decode())
        except (binascii.Error, UnicodeDecodeError, ValueError):
            _reject(404, "Invalid cursor")
    end = offset + size
    cursor = base64.urlsafe_b64encode(str(end).encode()).decode()
    return {
        "count": len(rows),
        "next": str(request.url.update_query(cursor=cursor)) if end < len(rows) else None,
        "previous": None,
        "results": list(rows[offset:end]),
    }


# -- routes --------------------------------------------------------------------------------

Reply = Callable[[web.Request, _Org], Json | None]


def _users(request: web.Request, org: _Org) -> Json:
    world = org.tenant.world
    email = request.query.get("email")
    rows = [u for u in world.users if email is None or u.email.lower() == email.lower()]
    return _cursored(request, [user_json(world, u) for u in rows])


def _one_user(request: web.Request, org: _Org) -> Json:
    return user_json(org.tenant.world, org.user(request.match_info["user_id"]))


def _courses(request: web.Request, org: _Org) -> Json:
    return _paged(request, [course_json(c) for c in org.courses])


def _one_course(request: web.Request, org: _Org) -> Json:
    wanted = request.match_info["course_id"]
    course = next((c for c in org.courses if c.id == wanted), None)
    if course is None:
        _reject(404, "Not found.")
    return course_json(course)


def _published(request: web.Request, org: _Org) -> Json:
    _domain(request, org)
    course_id = request.query.get("course__id")
    rows = [
        published_json(course, index)
        for course, index in org.published.values()
        if course_id is None or course.id == course_id
    ]
    return _paged(request, rows)


def _enrollments(request: web.Request, org: _Org) -> Json:
    _domain(request, org)
    published_id = request.match_info["published_id"]
    if published_id not in org.published:
        _reject(404, "Not found.")
    world = org.tenant.world
    rows = [
        _enrollment_json(world, row)
        for group in org.progress.values()
        for row in group
        if row.revision_id == published_id
    ]
    return _paged(request, rows)


def _progress_of(request: web.Request, org: _Org) -> Json:
    user = org.user(request.match_info["user_id"])
    world, domain = org.tenant.world, org.tenant.domain
    rows = [progress_json(world, domain, row) for row in org.progress.get(user.id, [])]
    return _paged(request, rows)


def _one_progress(request: web.Request, org: _Org) -> Json:
    user = org.user(request.match_info["user_id"])
    wanted = request.match_info["published_id"]
    for row in org.progress.get(user.id, []):
        if row.revision_id == wanted:
            return progress_json(org.tenant.world, org.tenant.domain, row)
    _reject(404, "Not found.")


def _ping(request: web.Request, org: _Org) -> None:
    del request, org


ROUTES: dict[str, Reply] = {
    "/v1/ping": _ping,
    "/v1/users": _users,
    "/v1/users/{user_id}": _one_user,
    "/v1/courses": _courses,
    "/v1/courses/{course_id}": _one_course,
    "/v1/domains/{domain}/published-courses": _published,
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
    return web.json_response(skilljar_error_body(problem.status, "Not found."), status=404)


def build_skilljar_app(tenants: Sequence[SkilljarTenant]) -> web.Application:
    """The Skilljar emulator as an aiohttp sub-application, mounted at ``/skilljar``.

    Args:
        tenants: The organisations served; the API key picks one.

    Returns:
        An application serving the GET routes of :data:`ROUTES`.
    """
    orgs = [_Org(tenant) for tenant in tenants]
    app = web.Application(middlewares=[_unmatched_routes])
    for path, reply in ROUTES.items():
        app.router.add_get(path, _handler(orgs, reply), allow_head=False)
    return app
