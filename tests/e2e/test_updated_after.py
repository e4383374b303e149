"""`updatedAfter` is read the same way for every vendor: a date-time without an offset
is UTC, and one that cannot be expressed in UTC is refused before any vendor call."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.sandbox import Emulator
from tests.harness import DEMO_SOURCES, GraphQLServer

USERS = """
query($source: String!, $since: DateTime) {
  users(first: 100, source: $source, updatedAfter: $since) {
    edges { node { remoteId updatedAt } }
  }
}
"""


def remote_ids(data: dict[str, object]) -> list[str]:
    edges = data["users"]["edges"]  # type: ignore[index]
    return [edge["node"]["remoteId"] for edge in edges]


@pytest.mark.parametrize("vendor", sorted(DEMO_SOURCES))
async def test_an_updated_after_without_offset_is_read_as_utc(
    federated: GraphQLServer, vendor: str
) -> None:
    source = DEMO_SOURCES[vendor]
    everyone = await federated.data(USERS, {"source": source})
    changes = sorted(
        datetime.fromisoformat(edge["node"]["updatedAt"]).astimezone(UTC)
        for edge in everyone["users"]["edges"]
        if edge["node"]["updatedAt"] is not None
    )
    middle = changes[len(changes) // 2].replace(tzinfo=None, microsecond=0)

    naive = await federated.data(USERS, {"source": source, "since": middle.isoformat()})
    utc = await federated.data(USERS, {"source": source, "since": middle.isoformat() + "Z"})

    assert remote_ids(naive) == remote_ids(utc)
    assert 0 < len(remote_ids(utc)) < len(remote_ids(everyone))


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
@pytest.mark.parametrize("vendor", sorted(DEMO_SOURCES))
async def test_an_updated_after_outside_the_utc_calendar_is_refused_before_any_call(
    federated: GraphQLServer, everywhere: Emulator, vendor: str, since: str
) -> None:
    everywhere.clear_requests()
    body = await federated.post(USERS, {"source": DEMO_SOURCES[vendor], "since": since})
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "INVALID_ARGUMENT"}
    assert error["message"] == (
        f"`updatedAfter` {since} is outside the dates UTC can express (years 1 to 9999)"
    )
    assert everywhere.requests == []
