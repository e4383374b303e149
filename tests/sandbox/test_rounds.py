"""Counting round trips in a row from the emulator's request log."""

from __future__ import annotations

from connectors.sandbox import RecordedRequest, sequential_round_trips


def call(start: float, seconds: float) -> RecordedRequest:
    return RecordedRequest("kombo", "GET", "/lms/users", {}, 200, start, seconds)


def test_overlapping_calls_are_one_round_and_chained_calls_add_up() -> None:
    assert sequential_round_trips([]) == 0
    assert sequential_round_trips([call(0.0, 1.0), call(0.1, 1.0), call(0.5, 0.2)]) == 1
    # two at once, then one after both, then two after that one
    log = [call(0.0, 1.0), call(0.0, 0.5), call(1.1, 1.0), call(2.2, 1.0), call(2.3, 0.1)]
    assert sequential_round_trips(log) == 3


def test_the_longest_chain_counts_not_the_number_of_calls() -> None:
    # a long call beside a chain of three short ones: three in a row
    log = [call(0.0, 3.0), call(0.0, 0.5), call(0.6, 0.5), call(1.2, 0.5)]
    assert sequential_round_trips(log) == 3
    # order of the log does not matter
    assert sequential_round_trips(list(reversed(log))) == 3
