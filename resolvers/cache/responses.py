"""Whole GraphQL responses in the cache store: their keys, their stored form, and clearing
them by source. Knows no HTTP (the view in :mod:`graph.response_cache` does).

Keys::

    lms-graph:responses:v1:<digest>                   the response
    lms-graph:v1:<source>:response:<digest>           one marker per source it used

The digest covers everything that decides a response's bytes (:func:`response_key`); it
is a hash, so no client key, variable or document text is readable in it. Responses sit
beside the entries (like persisted documents), so a source named ``responses`` cannot
collide with them; each source's markers sit under that source's prefix, so
``lms-graph cache clear --source NAME`` finds, through them, the responses that used it
(:func:`clear_responses`). A marker lives exactly as long as its response.

A stored value is one line of JSON (when it was built, until when it is fresh, the
storage time of each source's oldest data, the price estimate and the ETag) and, after
the newline, the response body as sent: ``{"data": …}``, nothing request-specific.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from resolvers.cache.keys import KEY_PREFIX, KEY_VERSION, source_prefix
from resolvers.cache.stores import CacheStore

__all__ = [
    "RESPONSES_PREFIX",
    "StoredResponse",
    "clear_responses",
    "response_key",
    "response_markers",
    "scope_digest",
]

RESPONSES_PREFIX = f"{KEY_PREFIX}:responses:{KEY_VERSION}:"
_MARKER = "response:"
_DIGEST_CHARS = 32  # 128 bits


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:_DIGEST_CHARS]


def scope_digest(sources: Sequence[tuple[str, str, str]]) -> str:
    """The digest of what a client may read: each visible source's (name, kind, tenant),
    so two clients with the same sources share responses and no others do."""
    return _digest(orjson.dumps(sorted(sources)))


def response_key(
    *,
    version: str,
    document_sha256: str,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    scope: str,
) -> str:
    """The key of one response.

    Args:
        version: Everything of the server that decides a response beyond the request:
            the code's version, the schema, the limits, the cursor key (a digest).
        document_sha256: The SHA-256 of the document text, however the request named it.
        operation_name: The operation to run (None: the document's only one).
        variables: The variables as sent; the same values in another key order, or
            None and ``{}``, are the same.
        scope: :func:`scope_digest` of the sources the client may read. Sources picked
            by ``source:``/``sources:`` arguments are in the document or the variables.

    Raises:
        ValueError: the variables hold NaN or an infinity (JSON requests may carry them).
    """
    # allow_nan=False: orjson would write NaN as null, and two requests would share a key.
    canonical = json.dumps(
        [version, document_sha256, operation_name, variables or {}, scope],
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    )
    return RESPONSES_PREFIX + _digest(canonical.encode())


def response_markers(key: str, sources: Sequence[str]) -> list[str]:
    """The marker keys that let ``cache clear --source`` find the response ``key``."""
    digest = key.removeprefix(RESPONSES_PREFIX)
    return [f"{source_prefix(source)}{_MARKER}{digest}" for source in sources]


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response as stored.

    Attributes:
        body: The encoded response, ``{"data": …}``, exactly as sent without extensions.
        etag: A strong validator of ``body``.
        built_at: When it was built (seconds since the epoch).
        expires_at: When the first entry it was built from stops being fresh.
        oldest: Per source used, the storage time of its oldest data.
        cost: The operation's price estimate per source, for ``extensions.cost``.
        operation: The operation's name (None: anonymous), for the metrics of a hit.
    """

    body: bytes
    etag: str
    built_at: float
    expires_at: float
    oldest: dict[str, float]
    cost: dict[str, int] | None = None
    operation: str | None = None

    @classmethod
    def build(
        cls,
        data: Any,
        *,
        built_at: float,
        expires_at: float,
        oldest: Mapping[str, float],
        cost: Mapping[str, int] | None,
        operation: str | None = None,
    ) -> StoredResponse:
        try:
            body = orjson.dumps({"data": data})
        except TypeError:  # integers beyond 64 bits, lone surrogates (vendor remoteData)
            body = json.dumps({"data": data}, separators=(",", ":")).encode()
        return cls(
            body=body,
            etag=etag_of(body),
            built_at=built_at,
            expires_at=expires_at,
            oldest=dict(oldest),
            cost=dict(cost) if cost is not None else None,
            operation=operation,
        )

    def encode(self) -> bytes:
        header = {
            "builtAt": self.built_at,
            "expiresAt": self.expires_at,
            "oldest": self.oldest,
            "cost": self.cost,
            "etag": self.etag,
            "operation": self.operation,
        }
        return orjson.dumps(header) + b"\n" + self.body

    @classmethod
    def decode(cls, raw: bytes) -> StoredResponse | None:
        """The response, or None when ``raw`` is not one (corrupt, or another shape)."""
        header_bytes, newline, body = raw.partition(b"\n")
        if not newline:
            return None
        try:
            header = orjson.loads(header_bytes)
            return cls(
                body=body,
                etag=str(header["etag"]),
                built_at=float(header["builtAt"]),
                expires_at=float(header["expiresAt"]),
                oldest={str(k): float(v) for k, v in header["oldest"].items()},
                cost=header["cost"],
                operation=header.get("operation"),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            return None

    @property
    def sources(self) -> list[str]:
        return list(self.oldest)


def etag_of(body: bytes) -> str:
    """A strong ETag (quoted) of exactly these bytes."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


async def clear_responses(store: CacheStore, source: str | None) -> int:
    """Delete the responses that used ``source`` (None: every response); returns how
    many. The source's markers go with its other entries (its prefix). May raise."""
    if source is None:
        return await store.clear(RESPONSES_PREFIX)
    markers = await store.keys(f"{source_prefix(source)}{_MARKER}")
    keys = [RESPONSES_PREFIX + marker.rsplit(":", 1)[-1] for marker in markers]
    return await store.delete_many(keys)
