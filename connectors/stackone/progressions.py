"""Progressions assembled from StackOne's assignments and completions (see client.py).

Every fan-out goes through :meth:`StackOneApi.bounded`, one level deep: a walk holds one
slot for its pages, and content look-ups start only after the walks are done, so the
semaphore is never awaited by a call that already holds one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Sequence

from connectors.model import Progression
from connectors.stackone import payloads
from connectors.stackone.api import StackOneApi, record_path
from connectors.stackone.mapping import (
    LearningPair,
    course_of,
    map_progression,
    pair_records,
    split_progression_key,
)
from connectors.stackone.payloads import (
    StackOneAssignment,
    StackOneCompletion,
    StackOneLearningRecord,
)

__all__ = ["ProgressionReader"]


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _split(
    assignments: Sequence[StackOneLearningRecord], completions: Sequence[StackOneLearningRecord]
) -> tuple[list[StackOneAssignment], list[StackOneCompletion]]:
    """Narrow the two lists one fan-out returned back to their record types."""
    return (
        [r for r in assignments if isinstance(r, StackOneAssignment)],
        [r for r in completions if isinstance(r, StackOneCompletion)],
    )


class ProgressionReader:
    """Reads and joins the two halves of StackOne progressions."""

    def __init__(self, api: StackOneApi) -> None:
        self._api = api

    async def of_users(self, user_ids: Sequence[str]) -> dict[str, list[Progression]]:
        """Each distinct user's progressions (two list walks per user); unknown users: []."""
        per_user = await self._pairs_of_users(user_ids)
        flat = [(user_id, pair) for user_id, pairs in per_user.items() for pair in pairs]
        mapped = await self._map_pairs([pair for _, pair in flat])
        grouped: dict[str, list[Progression]] = {user_id: [] for user_id in per_user}
        for (user_id, _), progression in zip(flat, mapped, strict=True):
            grouped[user_id].append(progression)
        return grouped

    async def by_keys(self, keys: Sequence[str]) -> dict[str, Progression]:
        """The progressions with these IDs: the two lists of each user named in a key."""
        wanted = set(keys)
        users = [parts[0] for key in _unique(keys) if (parts := split_progression_key(key))]
        per_user = await self._pairs_of_users(users)
        chosen = [pair for pairs in per_user.values() for pair in pairs if pair.key in wanted]
        return {progression.id: progression for progression in await self._map_pairs(chosen)}

    async def of_courses(self, course_ids: Sequence[str]) -> dict[str, list[Progression]]:
        """Each course's progressions, from the global lists (StackOne has no course filter)."""
        grouped: dict[str, list[Progression]] = {course_id: [] for course_id in course_ids}
        if not grouped:
            return grouped
        # Unannotated on purpose: a declared type would steer mypy's inference of `one`.
        paths = [record_path("courses", course_id) for course_id in grouped]
        courses = await self._api.many(paths, payloads.COURSE_ITEM)
        contents = {cid for course in courses if course for cid in course.content_ids or ()}
        lists = await self._api.bounded(self._both_lists(""))
        pairs = [
            pair
            for pair in pair_records(*_split(*lists))
            if (pair.learning_object_type == "course" and pair.learning_object_id in grouped)
            or (pair.learning_object_type == "content" and pair.learning_object_id in contents)
        ]
        # A content item counts for its first course, as on every other path, which is
        # normally the course whose content_ids listed it.
        for progression in await self._map_pairs(pairs):
            if progression.course_id in grouped:
                grouped[progression.course_id].append(progression)
        return grouped

    async def _pairs_of_users(self, user_ids: Sequence[str]) -> dict[str, list[LearningPair]]:
        unique = _unique(user_ids)
        walks: list[Awaitable[Sequence[StackOneLearningRecord]]] = []
        readable = []
        for user_id in unique:
            path = record_path("users", user_id)
            if path is None:
                continue  # not an ID StackOne can have: no user, no call
            readable.append(user_id)
            # A user StackOne does not know answers 404: no progressions.
            walks.extend(self._both_lists(path, missing_ok=True))
        lists = iter(await self._api.bounded(walks))
        found = {
            user_id: pair_records(*_split(next(lists), next(lists)), user_id=user_id)
            for user_id in readable
        }
        return {user_id: found.get(user_id, []) for user_id in unique}

    def _both_lists(
        self, owner: str, *, missing_ok: bool = False
    ) -> list[Awaitable[Sequence[StackOneLearningRecord]]]:
        """Walks of ``{owner}/assignments`` and ``{owner}/completions``, in that order."""
        walk, ok = self._api.walk, missing_ok
        assignments = walk(f"{owner}/assignments", {}, payloads.ASSIGNMENTS_PAGE, missing_ok=ok)
        completions = walk(f"{owner}/completions", {}, payloads.COMPLETIONS_PAGE, missing_ok=ok)
        return [assignments, completions]

    async def _map_pairs(self, pairs: Sequence[LearningPair]) -> list[Progression]:
        """Progressions in the pairs' order, looking up each distinct content item once."""
        content_ids = _unique(
            [p.learning_object_id for p in pairs if p.learning_object_type == "content"]
        )
        paths = [record_path("content", content_id) for content_id in content_ids]
        contents = await self._api.many(paths, payloads.CONTENT_ITEM)
        courses = {
            content_id: content.course_ids[0] if content and content.course_ids else None
            for content_id, content in zip(content_ids, contents, strict=True)
        }
        return [map_progression(pair, course_of(pair, courses)) for pair in pairs]
