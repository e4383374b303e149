"""Response keys, the stored form of a response, and clearing responses by source, on the
memory store (the Redis path runs in test_responses.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from resolvers.cache import MemoryStore
from resolvers.cache.responses import (
    RESPONSES_PREFIX,
    StoredResponse,
    clear_responses,
    etag_of,
    response_key,
    response_markers,
    scope_digest,
)

SCOPE = scope_digest([("acme", "kombo", "acme:42"), ("globex", "kombo", "globex:9")])


def key(**changes: Any) -> str:
    parts: dict[str, Any] = {
        "version": "v",
        "document_sha256": "ab" * 32,
        "operation_name": "Users",
        "variables": {"first": 3, "sources": ["acme"]},
        "scope": SCOPE,
    }
    return response_key(**{**parts, **changes})


def test_equal_requests_have_equal_keys_whatever_their_form() -> None:
    assert key() == key(variables={"sources": ["acme"], "first": 3})
    assert key(variables=None) == key(variables={})
    assert key().startswith(RESPONSES_PREFIX)


@pytest.mark.parametrize(
    "change",
    [
        {"version": "w"},
        {"document_sha256": "cd" * 32},
        {"operation_name": None},
        {"variables": {"first": 4, "sources": ["acme"]}},
        {"variables": {"first": 3, "sources": ["globex"]}},
        {"variables": {"first": 3, "sources": ["acme", "globex"]}},
        {"scope": scope_digest([("acme", "kombo", "acme:42")])},
        {"scope": scope_digest([("acme", "kombo", "acme:43")])},
    ],
)
def test_anything_that_changes_the_answer_changes_the_key(change: dict[str, Any]) -> None:
    assert key(**change) != key()


def test_a_scope_does_not_depend_on_the_order_of_its_sources() -> None:
    swapped = scope_digest([("globex", "kombo", "globex:9"), ("acme", "kombo", "acme:42")])
    assert swapped == SCOPE


def test_keys_hold_no_variable_or_document() -> None:
    secretive = key(variables={"email": "someone@example.com"}, operation_name="Secret")
    assert "someone" not in secretive
    assert "Secret" not in secretive


def test_a_stored_response_reads_back_and_garbage_is_a_miss() -> None:
    stored = StoredResponse.build(
        {"users": {"edges": []}},
        built_at=10.0,
        expires_at=40.0,
        oldest={"acme": 9.5},
        cost={"acme": 1},
    )
    assert stored.body == b'{"data":{"users":{"edges":[]}}}'
    assert StoredResponse.decode(stored.encode()) == stored
    assert stored.operation is None
    for garbage in [b"", b"\x00not an entry", b"{}\n{}", b'{"etag": 1}\nbody', stored.body]:
        assert StoredResponse.decode(garbage) is None


def test_a_stored_response_keeps_its_operation_for_the_metrics_of_a_hit() -> None:
    stored = StoredResponse.build(
        {"users": None}, built_at=0, expires_at=1, oldest={}, cost=None, operation="Users"
    )
    decoded = StoredResponse.decode(stored.encode())
    assert decoded is not None
    assert (stored.operation, decoded.operation) == ("Users", "Users")


def test_each_marker_sits_under_its_source_and_names_its_response() -> None:
    digest = key().removeprefix(RESPONSES_PREFIX)
    assert response_markers(key(), ["acme", "globex"]) == [
        f"lms-graph:v1:acme:response:{digest}",
        f"lms-graph:v1:globex:response:{digest}",
    ]


async def test_clearing_a_source_drops_exactly_the_responses_that_used_it() -> None:
    store = MemoryStore(max_entries=100)
    used = {"a": ["acme"], "b": ["globex"], "c": ["acme", "globex"]}
    keys = {name: key(operation_name=name) for name in used}
    for name, sources in used.items():
        items = [(keys[name], b"response")]
        items += [(marker, b"1") for marker in response_markers(keys[name], sources)]
        await store.set_many(items, 60)
    assert await clear_responses(store, "acme") == 2
    left = await store.get_many(list(keys.values()))
    assert left == [None, b"response", None]
    assert await clear_responses(store, None) == 1
    assert await store.keys(RESPONSES_PREFIX) == []


def test_nan_has_no_key_rather_than_the_key_of_null() -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        key(variables={"first": float("nan")})


def test_what_orjson_refuses_is_stored_through_the_standard_library() -> None:
    data = {"remoteData": {"big": 2**70, "odd": "\ud800"}}
    stored = StoredResponse.build(data, built_at=0, expires_at=1, oldest={"acme": 0}, cost=None)
    assert json.loads(stored.body) == {"data": data}
    # As compact as orjson's bytes: no spaces sent, and the ETag is of exactly these.
    assert stored.body == b'{"data":{"remoteData":{"big":1180591620717411303424,"odd":"\\ud800"}}}'
    assert stored.etag == etag_of(stored.body)
