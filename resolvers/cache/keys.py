"""Cache keys: every key names the source and a digest of its tenant, never a credential.

    lms-graph:v1:<source>:<tenant digest>:entity:<kind>:<vendor ID>
    lms-graph:v1:<source>:<tenant digest>:list:<kind>:<digest of the list's parameters>
    lms-graph:v1:<source>:<tenant digest>:group:<grouping>:<key, or its digest for emails>

The tenant digest covers the vendor kind and the connector's ``tenant`` (integration ID,
account ID, domain …), so two sources of one vendor never share an entry even when their
vendor IDs collide, and a source renamed onto another tenant starts cold. ``v1`` changes
whenever the stored shape of an entry changes, which turns old entries into misses.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.base import ListQuery
from connectors.model import EntityKind

__all__ = ["ALL_KEYS_PREFIX", "KEY_PREFIX", "KEY_VERSION", "CacheKeys", "source_prefix"]

KEY_PREFIX = "lms-graph"
KEY_VERSION = "v1"
#: What every cache entry lms-graph ever wrote starts with, whatever its version; persisted
#: documents (``lms-graph:documents:…``, :mod:`graph.documents`) are not cache entries and
#: are left alone by ``lms-graph cache clear``.
ALL_KEYS_PREFIX = f"{KEY_PREFIX}:v"
_DIGEST_CHARS = 24  # 96 bits: collisions between tenants or parameters are not a concern


def _digest(*parts: Any) -> str:
    text = json.dumps(parts, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:_DIGEST_CHARS]


def _instant(moment: datetime | None) -> str | None:
    """One spelling per instant; naive means UTC, as the connectors read it."""
    if moment is None:
        return None
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return aware.astimezone(UTC).isoformat()


def source_prefix(source: str) -> str:
    """What every key of ``source`` starts with, for whichever tenant it had."""
    return f"{KEY_PREFIX}:{KEY_VERSION}:{source}:"


@dataclass(frozen=True, slots=True)
class CacheKeys:
    """The keys of one source.

    Attributes:
        source: The configured source's name.
        kind: The vendor kind.
        tenant: The connector's non-secret tenant identity.
    """

    source: str
    kind: str
    tenant: str

    @property
    def prefix(self) -> str:
        """What every key of this source and tenant starts with."""
        return f"{source_prefix(self.source)}{_digest(self.kind, self.tenant)}:"

    def entity(self, kind: EntityKind, record_id: str) -> str:
        return f"{self.prefix}entity:{kind.value}:{record_id}"

    def page(self, kind: EntityKind, query: ListQuery, token: str | None, size: int) -> str:
        """The key of one list page; equal parameters give equal keys, whatever their form."""
        params = _digest(_instant(query.updated_after), query.include_deleted, token, size)
        return f"{self.prefix}list:{kind.value}:{params}"

    def group(self, grouping: str, key: str, *, hashed: bool = False) -> str:
        """The key of a grouped look-up (``progressions_of_user`` …); ``hashed`` keeps
        personal data such as an email out of the key."""
        return f"{self.prefix}group:{grouping}:{_digest(key) if hashed else key}"
