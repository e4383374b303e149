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


def require_same(label: str, cold: object, warm: object) -> None:
    """Warm and cold must answer alike, or the cache served something else."""
    if cold != warm:
        raise BenchError(f"{label}: the warm answer differs from the cold one")
