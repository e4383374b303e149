"""The source-qualified keys inside global IDs.

A global ID is Relay's ``base64("<Type>:<node id>")``; the node id is
``<source>:<vendor key>``. Source names cannot contain ``:`` (config enforces it), so
the first ``:`` splits them even when vendor IDs contain colons. A revision's vendor
key also names its course, because most vendors can only find a revision through it.

A global ID longer than :data:`MAX_ID_LENGTH` characters is refused before it is read,
so it never reaches a vendor (or an error message). Vendor IDs are GUIDs, numbers or
short tokens; the longest ID we issue, a revision's, stays under 300 characters even
with a 100-character source name and long vendor keys.
"""

from __future__ import annotations

import base64
from functools import lru_cache
from urllib.parse import quote, unquote

from resolvers.errors import InvalidIdError
from resolvers.loaders import RevisionRef

__all__ = [
    "MAX_ID_LENGTH",
    "check_id_length",
    "global_id",
    "join_node_id",
    "revision_key",
    "split_node_id",
    "split_revision_key",
]

MAX_ID_LENGTH = 1024


def check_id_length(raw: str) -> None:
    """Refuse an ID too long to be one of ours, without reading it."""
    if len(raw) > MAX_ID_LENGTH:
        raise InvalidIdError(
            f"ID is {len(raw)} characters long; IDs of this API are at most {MAX_ID_LENGTH}"
        )


@lru_cache(maxsize=65_536)
def global_id(type_name: str, node_id: str) -> str:
    """Relay's global ID of a node, as Strawberry's ``GlobalID`` spells it.

    Remembered: a warm response names the same revisions, courses and skills on many of
    its rows and again on the next request, and base64 of the whole ID costs more than
    the look-up."""
    return base64.b64encode(f"{type_name}:{node_id}".encode()).decode()


def join_node_id(source: str, key: str) -> str:
    return f"{source}:{key}"


def split_node_id(node_id: str) -> tuple[str, str]:
    check_id_length(node_id)
    source, sep, key = node_id.partition(":")
    if not sep or not source or not key:
        raise InvalidIdError("ID is not one this API issued")
    return source, key


@lru_cache(maxsize=65_536)  # built for every revision a response names
def revision_key(course_id: str, revision_id: str) -> str:
    return f"{quote(course_id, safe='')}/{quote(revision_id, safe='')}"


def split_revision_key(key: str) -> RevisionRef:
    course_id, sep, revision_id = key.partition("/")
    if not sep or not course_id or not revision_id:
        raise InvalidIdError("ID is not a revision ID this API issued")
    return RevisionRef(unquote(course_id), unquote(revision_id))
