"""StackOne's unified LMS API emulated over a generated :class:`~connectors.sandbox.world.World`.

Mount the application returned by :func:`build_stackone_app` at ``/stackone``; paths
below it are StackOne's, e.g. ``/stackone/unified/lms/users``. Generated worlds for
StackOne use ``generate_world(..., id_style="base58")``.

World → wire encoding (dates ``YYYY-MM-DDTHH:MM:SS.sssZ`` in UTC; serialisers in
:mod:`connectors.sandbox.stackone_wire`):

- users (all, deleted ones too, world order): ``{id, remote_id, external_reference:
  null, name: "<first_name> <last_name>", email, phone_number: null, active, created_at,
  updated_at: changed_at}``; ``active`` is ``status == "ACTIVE"`` as a JSON bool, except
  for every 10th user (0-based world index 9, 19, …) where it is the string ``"true"`` /
  ``"false"`` (StackOne allows both).
- courses (not deleted, world order): ``{id, remote_id, external_reference: null,
  content_ids: [<id>c1, <id>c2], remote_content_ids: [<remote_id>-content-1, …-2],
  title, description, url (all three the newest revision's, ``revisions[-1]``), active:
  newest revision ACTIVE, skills: [{id, remote_id, name, active: true}] for the newest
  revision's skill_ids that are not deleted, provider: the provider's name or null,
  created_at, updated_at: changed_at}``.
- content (two per live course, course order then 1, 2): ``{id: f"{course.id}c1"`` /
  ``"c2"``, remote_id: ``f"{course.remote_id}-content-<n>"``, external_reference: null,
  course_ids: [course.id], remote_course_ids: [course.remote_id], title: ``f"{newest
  title}: part <n>"``, description: the newest revision's, content_url: ``f"{url}/content/
  <n>"``, content_type: {value: "video", source_value: "video"}, active: as the course,
  order: n, created_at and updated_at: the course's}``.
- skills (not deleted): ``{id, remote_id, name, active: true}``; ``filter[updated_after]``
  compares the world skill's ``changed_at``, which is not on the wire.
- progressions: only those not deleted whose course is not deleted. Per such world
  progression P, by status: ENROLLED → an assignment ``pending``; IN_PROGRESS → an
  assignment ``in_progress``; COMPLETED → an assignment ``completed`` and a completion
  on the course; DROPPED → nothing. Exception: every 5th COMPLETED progression counting
  all COMPLETED world progressions in world order (deleted ones included; see
  ``stackone_wire.content_completion_ids``) has no assignment and its completion is on
  the course's first content item (``learning_object_type`` content, id ``<course>c1``).
- assignment: ``{id: f"{P.id}A", remote_id: f"{P.remote_id}-assignment",
  learning_object_type: {value: "course", source_value: "course"}, learning_object_id:
  course id,
  remote_learning_object_id: course remote_id, learning_object_external_reference: null,
  user_id, remote_user_id, status: {value, source_value: "Not Started" / "In Progress" /
  "Completed"}, progress: P.progress_percent (may be null), assigned_at: enrolled_at,
  due_date: due_at, completed_at, created_at: enrolled_at, updated_at: changed_at}``.
- completion: ``{id: f"{P.id}C", remote_id: f"{P.remote_id}-completion",
  external_reference: null, learning_object_* and user ids as above, result: {value:
  "Pass", source_value: "passed"}`` unless ``score < 60`` → ``{value: "Fail",
  source_value: "failed"}``, ``completed_at, created_at: completed_at, updated_at:
  changed_at, time_spent: ISO duration of time_spent_seconds ("PT1H2M3S", zero parts
  left out, "PT0S" for 0, null when unknown), certificate_url: null, score: {percentage:
  score, raw_value: f"{score:g} / 100"} or null}``.
- per-user lists keep world order; the global lists are in world progression order.

Requests. Every route is GET. Checks in order: no ``User-Agent`` → 403; ``Authorization``
not ``Basic base64("<api_key>:")`` with a known key and an empty password → 401; no
``x-account-id`` → 400; an account that key does not own → 404 ``"Account <id> not
found"``; a ``disabled`` tenant → 412. Unknown record IDs → 404 ``"Resource not found"``;
an unknown user's ``/users/{id}/assignments`` or ``/completions`` → 404 too. Errors are
``{statusCode, message, timestamp: "2026-01-01T00:00:00.000Z"}``; unknown routes and
methods answer 404 ``"Cannot <METHOD> <full request path>"`` (NestJS style), before any
auth check. ``stackone_wire.content_ids`` and ``content_completion_ids`` compute the
derived IDs for expectations.

Lists: ``{"next": <cursor or null>, "data": [...]}``; single records ``{"data": {...}}``.
``page_size`` defaults to 25, must be 1..100 (else 400). ``next`` is opaque: an offset
plus a digest of account, path and filters; a forged, foreign or mismatched one → 400.
Filters: ``filter[updated_after]`` (ISO-8601, exclusive, naive = UTC) on every list;
users ``filter[email]`` (exact, case-insensitive); courses and content
``filter[active]``; assignments ``filter[status]`` (status value), ``user_id`` and
``remote_user_id``. Other query parameters are ignored. ``filter[updated_after]`` is
applied after paging, as StackOne providers that filter post-fetch do: a page holds the
matching rows among the next ``page_size`` rows, so it can be short or empty while
``next`` is not null.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NoReturn

from aiohttp import web

from connectors.sandbox import stackone_wire as wire
from connectors.sandbox.records import World
from connectors.sandbox.world import BASE_DATE

__all__ = ["STACKONE_PREFIX", "StackOneTenant", "build_stackone_app", "stackone_error_body"]

STACKONE_PREFIX = "/stackone"
LMS = "/unified/lms"
DEFAULT_PAGE_SIZE = 25
MAX_PAGE_SIZE = 100
ERROR_TIMESTAMP = wire.stackone_datetime(BASE_DATE)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Filter = Callable[[dict[str, Any], str], bool]


@dataclass(frozen=True, slots=True)
class StackOneTenant:
    """One StackOne linked account served by the emulator.

    Attributes:
        api_key: The project API key (Basic username) that owns the account; never echoed.
        account_id: Value of the ``x-account-id`` header.
        world: The data this account serves.
        disabled: A disabled linked account answers every call with 412.
    """

    api_key: str = field(repr=False)
    account_id: str
    world: World = field(repr=False)
    disabled: bool = False


def stackone_error_body(status: int, message: str) -> dict[str, Any]:
    """StackOne's error body for ``status``: ``{statusCode, message, timestamp}``."""
    return {"statusCode": status, "message": message, "timestamp": ERROR_TIMESTAMP}


class _StackOneError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message

    def response(self) -> web.Response:
        return web.json_response(stackone_error_body(self.status, self.message), status=self.status)


def _reject(status: int, message: str) -> NoReturn:
    raise _StackOneError(status, message)


@dataclass(frozen=True, slots=True)
class _Account:
    tenant: StackOneTenant
    data: wire.StackOneData


def _authenticate(request: web.Request, accounts: Sequence[_Account]) -> _Account:
    if not request.headers.get("User-Agent", "").strip():
        _reject(403, "Forbidden: requests without a User-Agent are blocked.")
    scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    key, colon, password = decoded.partition(":")
    if scheme.lower() != "basic" or not key or not colon or password:
        _reject(401, "Unauthorized")
    owned = [a for a in accounts if hmac.compare_digest(key.encode(), a.tenant.api_key.encode())]
    if not owned:
        _reject(401, "Unauthorized")
    account_id = request.headers.get("x-account-id", "").strip()
    if not account_id:
        _reject(400, "The x-account-id header is required.")
    account = next((a for a in owned if a.tenant.account_id == account_id), None)
    if account is None:
        _reject(404, f"Account {account_id} not found")
    if account.tenant.disabled:
        _reject(412, "The linked account is disabled.")
    return account


def _page_size(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        _reject(400, f"page_size must be an integer between 1 and {MAX_PAGE_SIZE}.")
    return int(raw)


def _since(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        _reject(400, "filter[updated_after] must be an ISO-8601 date-time.")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _flag(raw: str) -> bool:
    if raw not in ("true", "false"):
        _reject(400, "filter[active] must be 'true' or 'false'.")
    return raw == "true"


def _digest(account_id: str, path: str, filters: Mapping[str, str]) -> str:
    canonical = json.dumps([account_id, path, sorted(filters.items())], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _cursor(offset: int, digest: str) -> str:
    payload = json.dumps({"offset": offset, "filters": digest}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode("ascii")


def _offset(raw: str, digest: str) -> int:
    try:
        payload = json.loads(base64.b64decode(raw.encode("ascii"), altchars=b"-_", validate=True))
    except (UnicodeError, binascii.Error, ValueError):
        _reject(400, "The next cursor is invalid.")
    if not isinstance(payload, dict) or set(payload) != {"offset", "filters"}:
        _reject(400, "The next cursor is invalid.")
    offset, filters = payload["offset"], payload["filters"]
    if type(offset) is not int or offset < 0 or not isinstance(filters, str):
        _reject(400, "The next cursor is invalid.")
    if not hmac.compare_digest(filters, digest):
        _reject(400, "The next cursor belongs to other filters or another list.")
    return offset


_USERS: dict[str, Filter] = {"filter[email]": lambda b, v: (b["email"] or "").lower() == v.lower()}
_ACTIVE: dict[str, Filter] = {"filter[active]": lambda b, v: b["active"] is _flag(v)}
_ASSIGNMENTS: dict[str, Filter] = {
    "filter[status]": lambda b, v: b["status"]["value"] == v,
    "user_id": lambda b, v: b["user_id"] == v,
    "remote_user_id": lambda b, v: b["remote_user_id"] == v,
}
#: Filters of each list besides `filter[updated_after]`.
_FILTERS: Mapping[str, Mapping[str, Filter]] = {
    "users": _USERS,
    "courses": _ACTIVE,
    "content": _ACTIVE,
    "skills": {},
    "assignments": _ASSIGNMENTS,
    "completions": {},
}


def _list_body(
    request: web.Request, account: _Account, name: str, rows: Sequence[wire.ServedRow]
) -> dict[str, Any]:
    query = request.query
    size = _page_size(query.get("page_size"))
    since = _since(query.get("filter[updated_after]"))
    filters = {n: query[n] for n in (*_FILTERS[name], "filter[updated_after]") if n in query}
    # The digest names the concrete path, so a user's cursor cannot page another user.
    digest = _digest(account.tenant.account_id, request.path, filters)
    offset = 0 if "next" not in query else _offset(query["next"], digest)
    matching = [
        row
        for row in rows
        if all(keep(row.body, filters[n]) for n, keep in _FILTERS[name].items() if n in filters)
    ]
    end = offset + size
    window = matching[offset:end]
    return {
        "next": _cursor(end, digest) if end < len(matching) else None,
        "data": [row.body for row in window if since is None or row.updated_at > since],
    }


def _lookup(account: _Account, name: str, record_id: str, user_id: str | None = None) -> Any:
    row = account.data.by_id.get(name, {}).get(record_id)
    if row is None or (user_id is not None and row.body["user_id"] != user_id):
        _reject(404, "Resource not found")
    return row.body


def _user_rows(account: _Account, name: str, user_id: str) -> Sequence[wire.ServedRow]:
    _lookup(account, "users", user_id)
    return account.data.of_user.get(name, {}).get(user_id, ())


Reply = Callable[[web.Request, _Account], dict[str, Any]]


def _handler(accounts: Sequence[_Account], reply: Reply) -> Handler:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            account = _authenticate(request, accounts)
            return web.json_response(reply(request, account))
        except _StackOneError as error:
            return error.response()

    return handle


def _list_reply(name: str) -> Reply:
    return lambda r, a: _list_body(r, a, name, a.data.lists[name])


def _one_reply(name: str) -> Reply:
    return lambda r, a: {"data": _lookup(a, name, r.match_info["id"])}


def _user_list_reply(name: str) -> Reply:
    return lambda r, a: _list_body(r, a, name, _user_rows(a, name, r.match_info["id"]))


def _user_one_reply(name: str) -> Reply:
    def reply(request: web.Request, account: _Account) -> dict[str, Any]:
        user_id = request.match_info["id"]
        _lookup(account, "users", user_id)
        return {"data": _lookup(account, name, request.match_info["sub"], user_id)}

    return reply


@web.middleware
async def _unmatched_routes(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Unknown paths and methods answer like StackOne's NestJS router, with its error body."""
    if request.match_info.http_exception is None:
        return await handler(request)
    body = stackone_error_body(404, f"Cannot {request.method} {request.path}")
    return web.json_response(body, status=404)


def build_stackone_app(tenants: Sequence[StackOneTenant]) -> web.Application:
    """The StackOne emulator as an aiohttp sub-application, to be mounted at ``/stackone``.

    Args:
        tenants: The linked accounts; the API key and ``x-account-id`` pick one.

    Returns:
        An application serving the LMS read endpoints listed in the module docstring.

    Raises:
        ValueError: Two tenants share an ``account_id``.
    """
    if len({t.account_id for t in tenants}) != len(tenants):
        raise ValueError("two StackOne tenants share an account_id")
    accounts = tuple(_Account(t, wire.serve(t.world)) for t in tenants)
    app = web.Application(middlewares=[_unmatched_routes])
    routes: list[tuple[str, Reply]] = []
    for name in _FILTERS:
        routes += [(f"{LMS}/{name}", _list_reply(name)), (f"{LMS}/{name}/{{id}}", _one_reply(name))]
    for name in ("assignments", "completions"):
        routes += [
            (f"{LMS}/users/{{id}}/{name}", _user_list_reply(name)),
            (f"{LMS}/users/{{id}}/{name}/{{sub}}", _user_one_reply(name)),
        ]
    for path, reply in routes:
        app.router.add_get(path, _handler(accounts, reply), allow_head=False)
    return app
