"""Opaque, checked pagination cursors.

A cursor is URL-safe base64 of ``<json>.<mac>``. The JSON names the connection it
belongs to (a digest of the list and its filters), so a cursor from another list is
refused, and the MAC (HMAC-SHA256, truncated) catches any edit or forgery.

A cursor longer than :data:`MAX_CURSOR_LENGTH` is refused before it is decoded (and so
before any vendor call): ours carry one small position per source, a few hundred
characters each, so 8,192 leaves room for a dozen sources with long vendor tokens.

The key is the server's: derived from ``[server] cursor_secret``, else random per start
(so cursors then die with the process). The server binds it per request with
:func:`use_cursor_key` (a context variable: two servers in one process, as in tests,
keep their own keys); unbound, a random key of this process is used.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from contextvars import ContextVar, Token
from typing import Any

from resolvers.errors import InvalidCursorError

__all__ = [
    "MAX_CURSOR_LENGTH",
    "check_cursor_length",
    "cursor_key",
    "decode_cursor",
    "encode_cursor",
    "scope_of",
    "use_cursor_key",
]

_MAC_BYTES = 8
MAX_CURSOR_LENGTH = 8192
_PROCESS_KEY = secrets.token_bytes(32)  # unbound (unit tests): random, this process only
_KEY: ContextVar[bytes] = ContextVar("lms_graph_cursor_key", default=_PROCESS_KEY)


def cursor_key(secret: str | None) -> bytes:
    """The HMAC key for ``secret``, or a fresh random key when there is none."""
    if secret is None:
        return secrets.token_bytes(32)
    return hashlib.sha256(b"lms-graph cursor v1\x00" + secret.encode()).digest()


def use_cursor_key(key: bytes) -> Token[bytes]:
    """Sign and check the cursors of the current task, and of tasks it starts, with ``key``."""
    return _KEY.set(key)


def check_cursor_length(cursor: str | None, argument: str = "cursor") -> None:
    """Refuse a cursor too long to be one of ours, without reading it."""
    if cursor is not None and len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursorError(
            f"`{argument}` is {len(cursor)} characters long; "
            f"cursors of this API are at most {MAX_CURSOR_LENGTH}"
        )


def scope_of(*parts: object) -> str:
    """A short digest naming one list with its filters."""
    text = json.dumps([str(part) for part in parts], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _mac(body: bytes) -> str:
    return hmac.new(_KEY.get(), body, hashlib.sha256).hexdigest()[: _MAC_BYTES * 2]


def encode_cursor(scope: str, position: Any) -> str:
    body = json.dumps({"s": scope, "p": position}, separators=(",", ":"), sort_keys=True).encode()
    raw = body + b"." + _mac(body).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, scope: str) -> Any:
    """The position stored in ``cursor``; InvalidCursorError if it is not one of this list's."""
    check_cursor_length(cursor)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        body, _, mac = raw.rpartition(b".")
        if not body or not hmac.compare_digest(mac.decode("ascii"), _mac(body)):
            raise InvalidCursorError("cursor is malformed or was modified")
        data = json.loads(body)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, InvalidCursorError):
            raise
        raise InvalidCursorError("cursor is malformed or was modified") from None
    if not isinstance(data, dict) or data.get("s") != scope:
        raise InvalidCursorError(
            "cursor belongs to a different list or different filters; "
            "use a cursor returned by this same field with the same arguments"
        )
    return data.get("p")
