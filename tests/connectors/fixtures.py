"""Recorded vendor pages under ``tests/fixtures/<vendor>/`` and builders that edit them.

Tests start from a recorded page and change only what the test is about, instead of
hand-typing vendor JSON. Every builder returns a new page and leaves its input alone.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

__all__ = [
    "FIXTURES",
    "load_fixture",
    "select",
    "with_error_code",
    "with_field",
    "with_next",
    "with_results",
    "without_field",
]

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

JsonDict = dict[str, Any]


def load_fixture(vendor: str, name: str) -> JsonDict:
    """A fresh copy of ``tests/fixtures/<vendor>/<name>.json``."""
    filename = name if name.endswith(".json") else f"{name}.json"
    with (FIXTURES / vendor / filename).open(encoding="utf-8") as handle:
        loaded = json.load(handle)
    if not isinstance(loaded, dict):
        raise TypeError(f"fixture {vendor}/{filename} is not a JSON object")
    return loaded


def with_next(page: JsonDict, cursor: str | None) -> JsonDict:
    """The page with ``data.next`` set to ``cursor`` (None: the last page)."""
    edited = copy.deepcopy(page)
    edited["data"]["next"] = cursor
    return edited


def with_results(page: JsonDict, results: Iterable[JsonDict]) -> JsonDict:
    """The page with ``data.results`` replaced."""
    edited = copy.deepcopy(page)
    edited["data"]["results"] = [copy.deepcopy(item) for item in results]
    return edited


def select(page: JsonDict, *ids: str) -> JsonDict:
    """The page keeping only the records with these IDs, in the order given."""
    by_id = {item["id"]: item for item in page["data"]["results"]}
    missing = [record_id for record_id in ids if record_id not in by_id]
    if missing:
        raise KeyError(f"not in the fixture: {missing}")
    return with_results(page, (by_id[record_id] for record_id in ids))


def without_field(page: JsonDict, path: str) -> JsonDict:
    """The page without the field at dotted ``path``; ``*`` means every list element.

    ``without_field(page, "data.results.*.user_id")`` drops ``user_id`` from every record.
    """
    edited = copy.deepcopy(page)
    *parents, last = path.split(".")

    def drop(node: JsonDict) -> None:
        if last not in node:
            raise KeyError(f"{path!r}: no field {last!r} to remove")
        del node[last]

    _visit(edited, parents, drop, path)
    return edited


def with_field(page: JsonDict, path: str, value: Any) -> JsonDict:
    """The page with the field at dotted ``path`` set to ``value`` (added if absent)."""
    edited = copy.deepcopy(page)
    *parents, last = path.split(".")

    def put(node: JsonDict) -> None:
        node[last] = copy.deepcopy(value)

    _visit(edited, parents, put, path)
    return edited


def with_error_code(body: JsonDict, code: str | None, message: str | None = None) -> JsonDict:
    """A recorded Kombo error body with another ``error.code`` (and message)."""
    edited = copy.deepcopy(body)
    edited["error"]["code"] = code
    edited["error"]["title"] = None
    if message is not None:
        edited["error"]["message"] = message
    return edited


def _visit(node: Any, parts: list[str], action: Callable[[JsonDict], None], path: str) -> None:
    """Apply ``action`` to every object ``parts`` leads to; null branches are skipped."""
    if _walk(node, parts, action, path) == 0:
        raise KeyError(f"{path!r} leads to no object in the page")


def _walk(node: Any, parts: list[str], action: Callable[[JsonDict], None], path: str) -> int:
    if node is None:
        return 0  # e.g. `course: null` below one record but not below another
    if not parts:
        if not isinstance(node, dict):
            raise TypeError(f"{path!r} does not lead to an object")
        action(node)
        return 1
    head, rest = parts[0], parts[1:]
    if head == "*":
        if not isinstance(node, list):
            raise TypeError(f"{path!r}: '*' needs a list")
        return sum(_walk(element, rest, action, path) for element in node)
    if isinstance(node, dict) and head in node:
        return _walk(node[head], rest, action, path)
    raise KeyError(f"{path!r}: no field {head!r}")
