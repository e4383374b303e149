"""How long entries stay fresh, and how long past that they may stand in for a failing source."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.model import EntityKind

__all__ = ["DEFAULT_LIST_TTL_CAP", "CachePolicy"]

#: Lists go stale faster than the records in them (new records appear on them), so an
#: unset list TTL is the default TTL, capped at this.
DEFAULT_LIST_TTL_CAP = 30


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """TTLs in seconds; 0 means "do not cache this".

    Attributes:
        ttl_seconds: Freshness of anything without a TTL of its own.
        entity_ttls: Freshness per entity kind, overriding ``ttl_seconds``.
        list_ttl_seconds: Freshness of list pages and grouped look-ups (a user's
            progressions …); None is ``ttl_seconds`` capped at :data:`DEFAULT_LIST_TTL_CAP`.
        negative_ttl_seconds: Freshness of "the vendor does not know this ID".
        stale_if_error_seconds: How long past freshness an entry may still be served
            when its source fails; 0 disables stale serving.
    """

    ttl_seconds: int = 60
    entity_ttls: dict[EntityKind, int] | None = None
    list_ttl_seconds: int | None = None
    negative_ttl_seconds: int = 15
    stale_if_error_seconds: int = 300

    def __post_init__(self) -> None:
        values = [self.ttl_seconds, self.negative_ttl_seconds, self.stale_if_error_seconds]
        values += list((self.entity_ttls or {}).values())
        values += [self.list_ttl_seconds or 0]
        if any(value < 0 for value in values):
            raise ValueError("cache TTLs must not be negative")

    def entity_ttl(self, kind: EntityKind) -> int:
        """Freshness of one record of ``kind``."""
        return (self.entity_ttls or {}).get(kind, self.ttl_seconds)

    @property
    def list_ttl(self) -> int:
        """Freshness of a list page or a grouped look-up."""
        if self.list_ttl_seconds is not None:
            return self.list_ttl_seconds
        return min(self.ttl_seconds, DEFAULT_LIST_TTL_CAP)

    def storage_ttl(self, fresh: int) -> int:
        """How long the store keeps an entry that is fresh for ``fresh`` seconds: long
        enough to be served stale for the whole stale-if-error window."""
        return fresh + self.stale_if_error_seconds if fresh > 0 else 0
