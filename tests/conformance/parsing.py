"""What each connector reads, per vendor endpoint, and how to count what it kept.

An :class:`Endpoint` names a spec path, the connector's validator of its body and its
mapper of one record, and which records the connector needs (:attr:`Endpoint.usable`:
those with an ID; everything else a spec allows must be read). :func:`parse` runs a body
through both and counts the records kept and skipped, for the conformance tests and
for ``bench/spec_parse_rate.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from pydantic import BaseModel, TypeAdapter

from connectors.kombo import mapping as kombo_map
from connectors.kombo import payloads as kombo
from connectors.records import SkipTally
from connectors.skilljar import mapping as skilljar_map
from connectors.skilljar import payloads as skilljar
from connectors.stackone import mapping as stackone_map
from connectors.stackone import payloads as stackone

__all__ = ["ENDPOINTS", "READ_FIELDS", "Endpoint", "Parsed", "parse"]

Json = Any


def _has_str(record: Json, *keys: str) -> bool:
    """Whether ``record[k1][k2]…`` is a string."""
    node = record
    for key in keys:
        if not isinstance(node, dict):
            return False
        node = node.get(key)
    return isinstance(node, str)


def _list_at(*keys: str) -> Callable[[Json], list[Json]]:
    def records(body: Json) -> list[Json]:
        node = body
        for key in keys:
            node = node[key]
        return list(node) if isinstance(node, list) else [node]

    return records


def _data(model: Any) -> list[Any]:
    data = model.data
    if isinstance(data, list):
        return data
    return [] if data is None else [data]


def _nothing(_: Json) -> list[Json]:
    return []


def _stackone_id(record: Json) -> bool:
    return _has_str(record, "id")


def _stackone_skills(course: Json) -> list[Json]:
    skills = course.get("skills") if isinstance(course, dict) else None
    return list(skills) if isinstance(skills, list) else []


def _stackone_keyed(record: Json) -> bool:
    """A learning record names its learning object: what keys its progression."""
    return _has_str(record, "learning_object_id") and record["learning_object_id"] != ""


def _stackone_progression(record: Any) -> object:
    assignment = record if isinstance(record, stackone.StackOneAssignment) else None
    completion = record if isinstance(record, stackone.StackOneCompletion) else None
    pairs = stackone_map.pair_records(
        [assignment] if assignment else [], [completion] if completion else [], "u1"
    )
    return [stackone_map.map_progression(pair, None) for pair in pairs]


@dataclass(frozen=True)
class Endpoint:
    """One vendor endpoint the connector reads.

    Attributes:
        vendor: ``kombo``, ``stackone`` or ``skilljar``.
        path: The spec's path template.
        adapter: The connector's validator of the whole body.
        records: The raw records of a body.
        kept: The parsed records of a validated body.
        usable: Whether the connector can use a raw record (it has the IDs it needs).
        mapper: Maps one parsed record to the unified model (raises on a bug).
        nested: Raw nested records of a raw record that are read one by one too.
        nested_usable: Whether a nested record is usable.
    """

    vendor: str
    path: str
    adapter: TypeAdapter[Any]
    records: Callable[[Json], list[Json]]
    kept: Callable[[Any], list[Any]]
    usable: Callable[[Json], bool]
    mapper: Callable[[Any], object]
    nested: Callable[[Json], list[Json]] = _nothing
    nested_usable: Callable[[Json], bool] = field(default=lambda _: True)

    @property
    def name(self) -> str:
        return f"{self.vendor} {self.path}"


@dataclass
class Parsed:
    """Counts over the bodies parsed so far."""

    bodies: int = 0
    records: int = 0
    usable: int = 0
    kept: int = 0
    skipped: int = 0
    expected_skips: int = 0

    def add(self, other: Parsed) -> None:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def rate(self) -> float:
        """Share of the usable records that were read (1.0 when there were none)."""
        return self.kept / self.usable if self.usable else 1.0


def parse(endpoint: Endpoint, body: Json) -> Parsed:
    """Validate ``body`` as the connector does and map every record it kept.

    Raises:
        pydantic.ValidationError: The envelope was refused (a spec-valid body never is).
    """
    tally = SkipTally()
    model = endpoint.adapter.validate_python(body, context=tally)
    raw = endpoint.records(body)
    kept = endpoint.kept(model)
    for record in kept:
        endpoint.mapper(record)
    usable = [r for r in raw if endpoint.usable(r)]
    nested = [n for r in usable for n in endpoint.nested(r)]
    unusable_nested = sum(1 for n in nested if not endpoint.nested_usable(n))
    return Parsed(
        bodies=1,
        records=len(raw),
        usable=len(usable),
        kept=len(kept),
        skipped=tally.skipped,
        expected_skips=len(raw) - len(usable) + unusable_nested,
    )


_STACKONE = [
    Endpoint(
        "stackone",
        "/unified/lms/users",
        stackone.USERS_PAGE,
        _list_at("data"),
        _data,
        _stackone_id,
        stackone_map.map_user,
    ),
    Endpoint(
        "stackone",
        "/unified/lms/users/{id}",
        stackone.USER_ITEM,
        _list_at("data"),
        _data,
        _stackone_id,
        stackone_map.map_user,
    ),
    Endpoint(
        "stackone",
        "/unified/lms/courses",
        stackone.COURSES_PAGE,
        _list_at("data"),
        _data,
        _stackone_id,
        stackone_map.map_course,
        _stackone_skills,
        _stackone_id,
    ),
    Endpoint(
        "stackone",
        "/unified/lms/courses/{id}",
        stackone.COURSE_ITEM,
        _list_at("data"),
        _data,
        _stackone_id,
        stackone_map.map_course,
        _stackone_skills,
        _stackone_id,
    ),
    Endpoint(
        "stackone",
        "/unified/lms/skills",
        stackone.SKILLS_PAGE,
        _list_at("data"),
        _data,
        _stackone_id,
        stackone_map.map_skill,
    ),
    Endpoint(
        "stackone",
        "/unified/lms/users/{id}/assignments",
        stackone.ASSIGNMENTS_PAGE,
        _list_at("data"),
        _data,
        _stackone_keyed,
        _stackone_progression,
    ),
    Endpoint(
        "stackone",
        "/unified/lms/users/{id}/completions",
        stackone.COMPLETIONS_PAGE,
        _list_at("data"),
        _data,
        _stackone_keyed,
        _stackone_progression,
    ),
    Endpoint(
        "stackone",
        "/unified/lms/assignments",
        stackone.ASSIGNMENTS_PAGE,
        _list_at("data"),
        _data,
        _stackone_keyed,
        _stackone_progression,
    ),
    Endpoint(
        "stackone",
        "/unified/lms/completions",
        stackone.COMPLETIONS_PAGE,
        _list_at("data"),
        _data,
        _stackone_keyed,
        _stackone_progression,
    ),
    Endpoint(
        "stackone",
        "/unified/lms/content/{id}",
        stackone.CONTENT_ITEM,
        _list_at("data"),
        _data,
        _stackone_id,
        lambda content: content,
    ),
]


def _kombo_results(model: Any) -> list[Any]:
    return list(model.data.results)


def _kombo(path: str, adapter: TypeAdapter[Any], mapper: Callable[[Any], object]) -> Endpoint:
    # Kombo's schemas require every ID, so every record a spec allows is usable.
    return Endpoint(
        "kombo",
        path,
        adapter,
        _list_at("data", "results"),
        _kombo_results,
        lambda _: True,
        mapper,
    )


_KOMBO = [
    _kombo("/lms/users", kombo.USERS_PAGE, kombo_map.map_user),
    _kombo("/lms/courses", kombo.COURSES_PAGE, kombo_map.map_course),
    _kombo("/lms/skills", kombo.SKILLS_PAGE, kombo_map.map_skill),
    _kombo("/lms/course-progressions", kombo.PROGRESSIONS_PAGE, kombo_map.map_progression),
]


def _skilljar_results(body: Json) -> list[Json]:
    return list(body) if isinstance(body, list) else list(body["results"])


def _skilljar_kept(model: Any) -> list[Any]:
    if isinstance(model, skilljar.SkilljarPage):
        return list(model.results)
    return [] if model is None else [model]


def _skilljar_one(body: Json) -> list[Json]:
    return [body]


_SKILLJAR = [
    Endpoint(
        "skilljar",
        "/v1/users",
        skilljar.USERS_PAGE,
        _skilljar_results,
        _skilljar_kept,
        lambda r: _has_str(r, "user", "id"),
        skilljar_map.map_user,
    ),
    Endpoint(
        "skilljar",
        "/v1/users/{user_id}",
        skilljar.USER,
        _skilljar_one,
        _skilljar_kept,
        lambda r: _has_str(r, "user", "id"),
        skilljar_map.map_user,
    ),
    Endpoint(
        "skilljar",
        "/v1/courses",
        skilljar.COURSES_PAGE,
        _skilljar_results,
        _skilljar_kept,
        lambda r: _has_str(r, "id"),
        lambda course: skilljar_map.map_course(course, []),
    ),
    Endpoint(
        "skilljar",
        "/v1/users/{user_id}/published-courses",
        skilljar.PROGRESS_PAGE,
        _skilljar_results,
        _skilljar_kept,
        lambda r: _has_str(r, "published_course_id") and _has_str(r, "course", "id"),
        lambda item: skilljar_map.map_progression("u1", item),
    ),
    Endpoint(
        "skilljar",
        "/v1/domains/{domain_name}/published-courses",
        skilljar.PUBLISHED_PAGE,
        _skilljar_results,
        _skilljar_kept,
        lambda r: _has_str(r, "id") and _has_str(r, "course", "id"),
        skilljar_map.map_revision,
    ),
    Endpoint(
        "skilljar",
        "/v1/domains/{domain_name}/published-courses/{published_course_id}/enrollments",
        skilljar.ENROLLMENTS_PAGE,
        _skilljar_results,
        _skilljar_kept,
        lambda r: _has_str(r, "user", "id"),
        lambda enrollment: enrollment,
    ),
]


def _declared(module: ModuleType) -> set[str]:
    """Every JSON key some payload model of ``module`` reads (field names and aliases)."""
    names: set[str] = set()
    for value in vars(module).values():
        if isinstance(value, type) and issubclass(value, BaseModel):
            for name, info in value.model_fields.items():
                names.update({name, info.alias or name})
    return names


#: The JSON keys each connector's payload models read; others are ignored by them.
READ_FIELDS: dict[str, set[str]] = {
    "stackone": _declared(stackone),
    "kombo": _declared(kombo),
    "skilljar": _declared(skilljar),
}

ENDPOINTS: dict[str, list[Endpoint]] = {
    "stackone": _STACKONE,
    "kombo": _KOMBO,
    "skilljar": _SKILLJAR,
}
