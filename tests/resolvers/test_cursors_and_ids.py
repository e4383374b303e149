"""Cursors and the keys inside global IDs, without a server: round trips, forgeries, and
the exact messages clients see."""

from __future__ import annotations

import base64
import string

import pytest
from strawberry import relay

from resolvers.cursors import (
    MAX_CURSOR_LENGTH,
    cursor_key,
    decode_cursor,
    encode_cursor,
    scope_of,
)
from resolvers.errors import InvalidCursorError, InvalidIdError
from resolvers.ids import (
    MAX_ID_LENGTH,
    check_id_length,
    global_id,
    join_node_id,
    revision_key,
    split_node_id,
    split_revision_key,
)
from resolvers.loaders import RevisionRef

URL_SAFE = set(string.ascii_letters + string.digits + "-_")
MODIFIED = "cursor is malformed or was modified"
FOREIGN = (
    "cursor belongs to a different list or different filters; "
    "use a cursor returned by this same field with the same arguments"
)


def raw(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


def cursor_of(body: bytes) -> str:
    return base64.urlsafe_b64encode(body).decode().rstrip("=")


@pytest.mark.parametrize(
    "position",
    [0, 7, 12345, "a.b.c", "token with spaces", {"pos": {"a": ["t.1", 25, 3]}, "turn": 1}],
)
def test_cursors_round_trip_whatever_their_length(position: object) -> None:
    scope = scope_of("users", ["acme"], None, False)
    for pad in range(4):  # every length modulo 4, so every amount of stripped padding
        value = [position, "x" * pad]
        cursor = encode_cursor(scope, value)
        assert set(cursor) <= URL_SAFE  # URL-safe, without "=" padding
        assert decode_cursor(cursor, scope) == value


def test_a_cursor_whose_position_was_edited_is_refused() -> None:
    cursor = encode_cursor("scope", {"offset": 5})
    body, dot, mac = raw(cursor).rpartition(b".")
    forged = cursor_of(body.replace(b'"offset":5', b'"offset":6') + dot + mac)
    with pytest.raises(InvalidCursorError) as caught:
        decode_cursor(forged, "scope")
    assert str(caught.value) == MODIFIED


@pytest.mark.parametrize(
    "cursor",
    ["", "a", "xyz", "e30", "%%%", cursor_of(b"no mac here"), cursor_of(b'{"s":1}.\xff\xfe')],
)
def test_garbage_is_refused_as_malformed(cursor: str) -> None:
    with pytest.raises(InvalidCursorError) as caught:
        decode_cursor(cursor, "scope")
    assert str(caught.value) == MODIFIED


def test_a_cursor_of_another_list_is_refused_with_its_own_message() -> None:
    cursor = encode_cursor(scope_of("users", ["acme"], None, False), 3)
    with pytest.raises(InvalidCursorError) as caught:
        decode_cursor(cursor, scope_of("users", ["acme"], None, True))
    assert str(caught.value) == FOREIGN


@pytest.mark.parametrize(("source", "key"), [("acme", "u1"), ("acme", "a:b:c"), ("a-b_c", ":")])
def test_node_ids_split_at_the_first_colon(source: str, key: str) -> None:
    assert split_node_id(join_node_id(source, key)) == (source, key)


@pytest.mark.parametrize("node_id", ["acme", "acme:", ":u1", ":", ""])
def test_node_ids_without_source_or_key_are_refused(node_id: str) -> None:
    with pytest.raises(InvalidIdError) as caught:
        split_node_id(node_id)
    assert str(caught.value) == "ID is not one this API issued"


@pytest.mark.parametrize(
    ("course_id", "revision_id"), [("c1", "r1"), ("a/b", "c/d"), ("x%2Fy", "1/2/3"), ("é", " ")]
)
def test_revision_keys_round_trip_even_with_slashes(course_id: str, revision_id: str) -> None:
    key = revision_key(course_id, revision_id)
    assert key.count("/") == 1
    assert split_revision_key(key) == RevisionRef(course_id, revision_id)


@pytest.mark.parametrize("key", ["c1", "c1/", "/r1", "/", ""])
def test_revision_keys_without_both_parts_are_refused(key: str) -> None:
    with pytest.raises(InvalidIdError) as caught:
        split_revision_key(key)
    assert str(caught.value) == "ID is not a revision ID this API issued"


@pytest.mark.parametrize(
    ("type_name", "node_id"),
    [("User", "acme:42"), ("Revision", "acme:c%2F1/r:2"), ("Skill", "src:é-ü-😀"), ("C", "s:k")],
)
def test_global_ids_are_strawberrys_and_decode_back(type_name: str, node_id: str) -> None:
    encoded = global_id(type_name, node_id)
    assert encoded == str(relay.GlobalID(type_name, node_id))
    decoded = relay.GlobalID.from_id(encoded)
    assert (decoded.type_name, decoded.node_id) == (type_name, node_id)
    assert global_id(type_name, node_id) is encoded  # remembered, not encoded again


def test_an_id_is_read_up_to_the_bound_and_refused_unread_past_it() -> None:
    check_id_length("A" * MAX_ID_LENGTH)
    with pytest.raises(InvalidIdError) as caught:
        check_id_length("A" * (MAX_ID_LENGTH + 1))
    assert str(caught.value) == (
        f"ID is {MAX_ID_LENGTH + 1} characters long; IDs of this API are at most {MAX_ID_LENGTH}"
    )


def test_a_cursor_is_read_up_to_the_bound_and_refused_unread_past_it() -> None:
    scope = scope_of("users", None, None, False)
    padded = encode_cursor({"p": 1}, scope)
    padded += "A" * (MAX_CURSOR_LENGTH - len(padded))  # a forgery
    with pytest.raises(InvalidCursorError) as caught:
        decode_cursor(padded, scope)
    assert str(caught.value) == MODIFIED  # read: at the bound
    with pytest.raises(InvalidCursorError) as caught:
        decode_cursor(padded + "A", scope)
    assert str(caught.value) == (
        f"`cursor` is {MAX_CURSOR_LENGTH + 1} characters long; "
        f"cursors of this API are at most {MAX_CURSOR_LENGTH}"
    )


def test_a_cursor_secret_gives_the_same_key_everywhere_and_none_a_fresh_one() -> None:
    assert cursor_key("fleet secret") == cursor_key("fleet secret")
    assert cursor_key("fleet secret") != cursor_key("another secret")
    assert cursor_key(None) != cursor_key(None)
    assert {len(cursor_key("fleet secret")), len(cursor_key(None))} == {32}  # HMAC-SHA256's size
