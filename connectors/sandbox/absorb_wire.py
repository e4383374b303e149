"""World records spelled as Absorb's JSON, and Absorb's ``_filter`` read back.

The encoding rules are listed in :mod:`connectors.sandbox.absorb`. ``_filter`` is the
OData subset Absorb documents, minus the string functions we never send: ``or``, ``and``,
``not``, parentheses, ``eq ne gt ge lt le`` between a field (or ``tolower(field)`` /
``toupper(field)``) and a literal (``guid'…'``, ``datetime'…'``, ``'text'`` with ``''``
for a quote, a number, ``true``, ``false``, ``null``). Field names match
case-insensitively; ``guid`` literals compare case-insensitively.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.sandbox.records import World, WorldCourse, WorldProgression, WorldUser

__all__ = [
    "FilterError",
    "Predicate",
    "absorb_datetime",
    "course",
    "enrollment",
    "enrollment_status",
    "parse_datetime",
    "parse_filter",
    "user",
]

Row = Mapping[str, Any]
Predicate = Callable[[Row], bool]
TICKS_PER_SECOND = 10_000_000


def absorb_datetime(moment: datetime | None) -> str | None:
    """UTC with milliseconds and ``Z``, e.g. ``2026-01-02T03:04:05.678Z``."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 date-time; without an offset it is UTC. Raises ValueError."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def enrollment_status(row: WorldProgression) -> int:
    """0 NotStarted, 1 InProgress, 3 Complete, 4 NotComplete, 5 Failed (score < 60)."""
    if row.status == "COMPLETED":
        return 5 if row.score is not None and row.score < 60 else 3
    return {"ENROLLED": 0, "IN_PROGRESS": 1, "DROPPED": 4}[row.status]


def _time_spent(seconds: int) -> str:
    days, rest = divmod(seconds, 86_400)
    clock = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}.{clock}" if days else clock


def user(row: WorldUser) -> dict[str, Any]:
    """A ``GET /users`` item."""
    return {
        "id": row.id,
        "departmentId": None,
        "firstName": row.first_name,
        "middleName": None,
        "lastName": row.last_name,
        "username": row.email.lower(),
        "emailAddress": row.email,
        "externalId": row.remote_id,
        "activeStatus": 0 if row.status == "ACTIVE" else 1,
        "isLearner": True,
        "isAdmin": False,
        "dateAdded": absorb_datetime(row.created_at),
        "dateEdited": absorb_datetime(row.changed_at),
        "lastLoginDate": None,
    }


def course(row: WorldCourse) -> dict[str, Any]:
    """A ``GET /courses`` item: name and description of the newest revision."""
    newest = row.revisions[-1]
    return {
        "id": row.id,
        "courseType": "OnlineCourse",
        "name": newest.title,
        "description": newest.description,
        "externalId": row.remote_id,
        "activeStatus": 0 if newest.status == "ACTIVE" else 1,
        "dateAdded": absorb_datetime(row.created_at),
        "dateEdited": absorb_datetime(row.changed_at),
    }


def enrollment(world: World, row: WorldProgression) -> dict[str, Any]:
    """A course enrollment, in the order of the seed's ``CourseEnrollmentResource`` sample."""
    learner = world.user(row.user_id)
    seconds = row.time_spent_seconds or 0
    return {
        "id": row.id,
        "courseId": row.course_id,
        "courseName": world.course(row.course_id).revisions[-1].title,
        "progress": row.progress_percent if row.progress_percent is not None else 0,
        "score": row.score,
        "status": enrollment_status(row),
        "dateCompleted": absorb_datetime(row.completed_at),
        "dateExpires": None,
        "dateEdited": absorb_datetime(row.changed_at),
        "dateAdded": absorb_datetime(row.enrolled_at),
        "fullName": f"{learner.first_name} {learner.last_name}",
        "courseVersionId": row.revision_id,
        "userId": row.user_id,
        "acceptedTermsAndConditions": False,
        "timeSpentTicks": seconds * TICKS_PER_SECOND,
        "timeSpent": _time_spent(seconds),
        "dateStarted": None,
        "enrollmentKeyId": None,
        "certificateId": None,
        "credits": None,
        "isActive": True,
        "dateDue": absorb_datetime(row.due_at),
        "accessDate": None,
        "jobTitle": None,
        "courseCollectionId": None,
        "avatar": None,
    }


# -- _filter -----------------------------------------------------------------------------


class FilterError(ValueError):
    """The ``_filter`` is not in the supported subset or names a field the resource lacks."""


class _Guid(str):
    """A ``guid'…'`` literal: compared case-insensitively."""

    __slots__ = ()


_TOKENS = re.compile(
    r"\s*(?:(?P<typed>(?:guid|datetime)'[^']*')|(?P<text>'(?:[^']|'')*')"
    r"|(?P<number>-?[0-9]+(?:\.[0-9]+)?)|(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<punct>[(),]))",
    re.ASCII,
)
_COMPARISONS: Mapping[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_CASES: Mapping[str, Callable[[Any], Any]] = {
    "tolower": lambda v: v.lower() if isinstance(v, str) else v,
    "toupper": lambda v: v.upper() if isinstance(v, str) else v,
}
_CONSTANTS: Mapping[str, Any] = {"null": None, "true": True, "false": False}


def _tokens(text: str) -> Iterator[str]:
    position, end = 0, len(text.rstrip())
    while position < end:
        match = _TOKENS.match(text, position)
        if match is None or match.end() == position:
            raise FilterError(f"Unexpected input at position {position}.")
        position = match.end()
        yield match.group().strip()


def _literal(token: str) -> Any:
    if token.startswith("guid'"):
        return _Guid(token[5:-1].lower())
    if token.startswith("datetime'"):
        try:
            return parse_datetime(token[9:-1])
        except ValueError:
            raise FilterError(f"Invalid datetime literal {token}.") from None
    if token.startswith("'"):
        return token[1:-1].replace("''", "'")
    return float(token) if "." in token else int(token)


def _compare(name: str, left: Any, right: Any) -> bool:
    try:
        if isinstance(left, datetime) and isinstance(right, str):
            right = parse_datetime(right)
        if isinstance(right, datetime) and isinstance(left, str):
            left = parse_datetime(left)
    except ValueError:
        return False  # text that is no date-time matches no date-time
    if isinstance(left, _Guid) or isinstance(right, _Guid):
        left, right = (v.lower() if isinstance(v, str) else v for v in (left, right))
    if name in ("eq", "ne"):
        return _COMPARISONS[name](left, right)
    try:
        return left is not None and right is not None and _COMPARISONS[name](left, right)
    except TypeError:
        return False  # e.g. a number against text: no match, as SQL would have it


class _Parser:
    def __init__(self, text: str, fields: Collection[str]) -> None:
        self._tokens = list(_tokens(text))
        self._at = 0
        self._fields = {name.lower(): name for name in fields}

    def parse(self) -> Predicate:
        predicate = self._or()
        if self._at != len(self._tokens):
            raise FilterError(f"Unexpected {self._tokens[self._at]!r}.")
        return predicate

    def _peek(self) -> str | None:
        return self._tokens[self._at] if self._at < len(self._tokens) else None

    def _take(self, expected: str | None = None) -> str:
        token = self._peek()
        if token is None or (expected is not None and token.lower() != expected):
            raise FilterError(f"Expected {expected or 'more input'}, got {token!r}.")
        self._at += 1
        return token

    def _or(self) -> Predicate:
        parts = [self._and()]
        while (self._peek() or "").lower() == "or":
            self._take()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else lambda row: any(p(row) for p in parts)

    def _and(self) -> Predicate:
        parts = [self._unary()]
        while (self._peek() or "").lower() == "and":
            self._take()
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else lambda row: all(p(row) for p in parts)

    def _unary(self) -> Predicate:
        if (self._peek() or "").lower() == "not":
            self._take()
            inner = self._unary()
            return lambda row: not inner(row)
        if self._peek() == "(":
            self._take("(")
            inner = self._or()
            self._take(")")
            return inner
        left, name, right = self._operand(), self._take().lower(), self._operand()
        if name not in _COMPARISONS:
            raise FilterError(f"Unsupported operator {name!r}.")
        return lambda row: _compare(name, left(row), right(row))

    def _operand(self) -> Callable[[Row], Any]:
        token = self._take()
        lowered = token.lower()
        if lowered in _CASES:
            self._take("(")
            inner = self._operand()
            self._take(")")
            case = _CASES[lowered]
            return lambda row: case(inner(row))
        if lowered in _CONSTANTS:
            constant = _CONSTANTS[lowered]
            return lambda _row: constant
        if token[0].isalpha() or token[0] == "_":
            if token.startswith(("guid'", "datetime'")):
                value = _literal(token)
                return lambda _row: value
            field = self._fields.get(lowered)
            if field is None:
                raise FilterError(f"The field {token!r} cannot be filtered.")
            return lambda row: row.get(field)
        if token in ("(", ")", ","):
            raise FilterError(f"Unexpected {token!r}.")
        value = _literal(token)
        return lambda _row: value


def parse_filter(text: str, fields: Collection[str]) -> Predicate:
    """A predicate over serialised records for ``_filter=text``; raises FilterError."""
    if not text.strip():
        raise FilterError("The filter is empty.")
    return _Parser(text, fields).parse()
