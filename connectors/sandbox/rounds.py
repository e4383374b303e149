"""Round trips in a row: how many vendor calls of a request had to wait for one another.

With a vendor latency L, a request that makes N calls takes at least ``rounds * L`` when
its calls form chains of ``rounds`` calls each started after the previous one answered,
however many run beside them. The emulator's log has when each call arrived and how long
it took, so the longest such chain can be read off it.
"""

from __future__ import annotations

from collections.abc import Iterable

from connectors.sandbox.server import RecordedRequest

__all__ = ["sequential_round_trips"]


def sequential_round_trips(requests: Iterable[RecordedRequest]) -> int:
    """The most calls of ``requests`` that ran one after another (each arriving after the
    previous one was answered); 0 for none."""
    calls = sorted(
        ((r.received_at, r.received_at + r.seconds) for r in requests), key=lambda c: c[1]
    )
    longest: list[int] = []  # longest chain ending with calls[i]
    for start, _ in calls:
        before = [longest[j] for j, (_, end) in enumerate(calls[: len(longest)]) if end <= start]
        longest.append(1 + max(before, default=0))
    return max(longest, default=0)
