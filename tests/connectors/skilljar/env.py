"""The one configured Skilljar source the connector tests talk to (see ``conftest.skilljar``)."""

from __future__ import annotations

from yarl import URL

SKILLJAR_BASE_URL = "https://api.skilljar.com"
# Skilljar's own documentation example: key sk-live-abcdeg → Basic c2stbGl2ZS1hYmNkZWc6
SKILLJAR_API_KEY = "sk-live-abcdeg"
SKILLJAR_BASIC = "Basic c2stbGl2ZS1hYmNkZWc6"
SKILLJAR_DOMAIN = "academy.acme.com"
SKILLJAR_SOURCE = "skilljar-test"
MAX_CONCURRENCY = 3
PUBLISHED = f"/v1/domains/{SKILLJAR_DOMAIN}/published-courses"


def url(path: str, **params: str) -> URL:
    """The exact URL of a call: aioresponses compares it with sorted query parameters."""
    return URL(SKILLJAR_BASE_URL + path).with_query(params)
