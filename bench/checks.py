"""What every benchmark checks before it prints a figure: that it measured what it says."""

from __future__ import annotations

__all__ = ["BenchError", "require_cold", "require_same", "require_warm"]


class BenchError(SystemExit):
    """The benchmark no longer measures what it claims; it stops with this message."""

    def __init__(self, message: str) -> None:
        super().__init__(f"bench error: {message}")


def require_cold(label: str, calls: int) -> None:
    """A cold run must reach the vendor: 0 calls means something answered it instead."""
    if calls == 0:
        raise BenchError(f"{label}: the cold run made no vendor call, so it measured no vendor")


def require_warm(label: str, calls: int) -> None:
    """A warm run must be answered by the cache alone."""
    if calls != 0:
        raise BenchError(f"{label}: the warm run made {calls} vendor calls; the cache missed")


_CURSORS = frozenset({"cursor", "startCursor", "endCursor"})


def _without_cursors(value: object) -> object:
    """The answer without its cursors: each server signs them with a key of its own."""
    if isinstance(value, dict):
        return {k: _without_cursors(v) for k, v in value.items() if k not in _CURSORS}
    if isinstance(value, list):
        return [_without_cursors(item) for item in value]
    return value


def require_same(label: str, cold: object, warm: object) -> None:
    """Warm and cold must answer alike (cursors aside), or the cache served something else."""
    if _without_cursors(cold) != _without_cursors(warm):
        raise BenchError(f"{label}: the warm answer differs from the cold one")
