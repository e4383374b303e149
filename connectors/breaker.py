"""A circuit breaker per source: stop calling a vendor that keeps failing, probe it later.

    CLOSED ──(failure_threshold outages in a row)──▶ OPEN ──(cooldown)──▶ HALF_OPEN
      ▲                                               ▲                      │
      └────────────(the probe succeeds)───────────────┼──────────────────────┤
                                                      └──(the probe fails)───┘

Only outages count: timeouts, connection failures and 5xx. A 4xx, a 429 or an answer
we cannot read means the vendor is up, so it counts as a success. While OPEN every call
is refused at once; in HALF_OPEN exactly one call (the probe) goes through and the rest
are refused until it has answered. A probe that is cancelled (its client left) frees the
slot for the next call.

Why not a library: ``purgatory`` lets every concurrent call through in its half-open
state and times with the wall clock; ``pybreaker`` holds a thread lock for the whole
call and needs Tornado for coroutines; ``aiobreaker`` has had no release since 2021.
One probe at a time is the behaviour we want, and the machine is this small.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import Enum, StrEnum

__all__ = ["Admission", "BreakerState", "CircuitBreaker"]


class BreakerState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class Admission(Enum):
    """What :meth:`CircuitBreaker.admit` decided for one call."""

    REFUSED = "refused"
    CALL = "call"
    PROBE = "probe"


class CircuitBreaker:
    """The breaker of one source; the transport asks it before each vendor attempt.

    Args:
        failure_threshold: Outages in a row that open it; 0 never opens.
        cooldown_seconds: How long it stays open before letting one probe through.
        clock: Monotonic seconds; tests may pass their own.
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        cooldown_seconds: float = 30.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock() - self._opened_at < self.cooldown_seconds:
            return BreakerState.OPEN
        return BreakerState.HALF_OPEN

    @property
    def failures(self) -> int:
        """Outages in a row so far."""
        return self._failures

    @property
    def retry_in(self) -> float:
        """Seconds until a probe may go through (0 unless OPEN)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self._opened_at + self.cooldown_seconds - self._clock())

    def admit(self) -> Admission:
        """May a call go to the vendor now? A call let through must then report
        :meth:`succeeded`, :meth:`failed` or :meth:`abandoned` with its admission."""
        state = self.state
        if state is BreakerState.CLOSED:
            return Admission.CALL
        if state is BreakerState.OPEN or self._probing:
            return Admission.REFUSED
        self._probing = True
        return Admission.PROBE

    def succeeded(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def failed(self, admission: Admission) -> None:
        self._failures += 1
        probe = admission is Admission.PROBE
        if probe or (self.failure_threshold > 0 and self._failures >= self.failure_threshold):
            self._opened_at = self._clock()
        if probe:
            self._probing = False

    def abandoned(self, admission: Admission) -> None:
        """The call ended without an answer either way (cancelled): a probe frees its slot."""
        if admission is Admission.PROBE:
            self._probing = False
