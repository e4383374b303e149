"""Error shaping without a server: what a stale-data error says when several entries of one
source were served past their freshness in one request."""

from __future__ import annotations

from graph.errors import stale_data_errors
from resolvers.cache import StaleNotice


def test_one_stale_error_per_source_with_the_oldest_age_served() -> None:
    notices = [
        StaleNotice("acme", 70.2, "SOURCE_UNAVAILABLE"),
        StaleNotice("globex", 61.0, "SOURCE_RATE_LIMITED"),
        StaleNotice("acme", 90.9, "SOURCE_BAD_RESPONSE"),
        StaleNotice("acme", 90.9, "SOURCE_UNAVAILABLE"),  # as old: the first one stands
        StaleNotice("acme", 80.0, "SOURCE_UNAVAILABLE"),
    ]
    errors = stale_data_errors(notices)
    assert [error.extensions for error in errors] == [
        {
            "code": "SOURCE_STALE_DATA",
            "source": "acme",
            "ageSeconds": 90,
            "cause": "SOURCE_BAD_RESPONSE",
        },
        {
            "code": "SOURCE_STALE_DATA",
            "source": "globex",
            "ageSeconds": 61,
            "cause": "SOURCE_RATE_LIMITED",
        },
    ]
    assert [error.message for error in errors] == [
        "source 'acme' failed (SOURCE_BAD_RESPONSE); some of its data is served from the cache "
        "and is 90 seconds old",
        "source 'globex' failed (SOURCE_RATE_LIMITED); some of its data is served from the "
        "cache and is 61 seconds old",
    ]


def test_no_stale_notice_no_error() -> None:
    assert stale_data_errors([]) == []
