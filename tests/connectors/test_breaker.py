"""The breaker's state machine on a clock the test moves."""

from __future__ import annotations

from connectors.breaker import Admission, BreakerState, CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def opened(clock: Clock, threshold: int = 3) -> CircuitBreaker:
    breaker = CircuitBreaker(threshold, 10.0, clock=clock)
    for _ in range(threshold):
        breaker.failed(breaker.admit())
    assert breaker.state is BreakerState.OPEN
    return breaker


def test_outages_in_a_row_open_it_and_a_success_resets_the_count() -> None:
    breaker = CircuitBreaker(3, 10.0, clock=Clock())
    breaker.failed(breaker.admit())
    breaker.failed(breaker.admit())
    breaker.succeeded()
    breaker.failed(breaker.admit())
    breaker.failed(breaker.admit())
    assert breaker.state is BreakerState.CLOSED
    breaker.failed(breaker.admit())
    assert breaker.state is BreakerState.OPEN


def test_open_refuses_until_the_cooldown_then_admits_one_probe() -> None:
    clock = Clock()
    breaker = opened(clock)
    assert breaker.admit() is Admission.REFUSED
    assert breaker.retry_in == 10.0
    clock.now += 10
    assert breaker.state is BreakerState.HALF_OPEN
    assert breaker.admit() is Admission.PROBE
    assert breaker.admit() is Admission.REFUSED  # one probe at a time
    breaker.succeeded()
    assert breaker.state is BreakerState.CLOSED
    assert breaker.admit() is Admission.CALL


def test_a_failed_probe_opens_it_for_another_cooldown() -> None:
    clock = Clock()
    breaker = opened(clock)
    clock.now += 10
    breaker.failed(breaker.admit())
    assert breaker.state is BreakerState.OPEN
    assert breaker.retry_in == 10.0


def test_an_abandoned_probe_frees_the_slot_but_another_call_does_not() -> None:
    clock = Clock()
    breaker = opened(clock)
    clock.now += 10
    probe = breaker.admit()
    breaker.abandoned(Admission.CALL)  # a call admitted before it opened, cancelled now
    assert breaker.admit() is Admission.REFUSED
    breaker.abandoned(probe)
    assert breaker.admit() is Admission.PROBE


def test_threshold_zero_never_opens() -> None:
    breaker = CircuitBreaker(0, 10.0, clock=Clock())
    for _ in range(50):
        breaker.failed(breaker.admit())
    assert breaker.state is BreakerState.CLOSED
