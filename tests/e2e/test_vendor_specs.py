"""What the vendors' specs allow, end to end: records without IDs, looping cursors.

The real server reads the demo emulator; a vendor's list is replaced by a canned page
(the emulator's fault injection with status 200) shaped as the vendor's spec allows.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.sandbox import Emulator, demo_emulator, generate_world
from connectors.sandbox.skilljar import SkilljarTenant
from connectors.settings import SkilljarSettings
from graph.config import CacheSettings
from tests.harness import DEMO_SOURCES, GraphQLServer, demo_sources, run_server

USERS = """
query($source: String!) {
  users(first: 50, source: $source) { edges { node { id remoteId firstName } } }
}
"""

#: A canned first page per vendor: one usable user, one without an ID, and ``next``.
PAGES = {
    "stackone": (
        "/unified/lms/users",
        lambda users, next_cursor: {"next": next_cursor, "data": users},
        [{"id": None, "name": "No Id"}, {"id": "u1", "name": "Ann Lee"}],
    ),
    "kombo": (
        "/lms/users",
        lambda users, next_cursor: {
            "status": "success",
            "data": {"next": next_cursor, "results": users},
        },
        [{"first_name": "No Id"}, {"id": "u1", "first_name": "Ann"}],
    ),
}


@pytest.fixture
async def emulator() -> AsyncIterator[Emulator]:
    async with demo_emulator(seed=3, users=12) as running:
        yield running


@pytest.fixture
async def server(emulator: Emulator) -> AsyncIterator[GraphQLServer]:
    sources = demo_sources(emulator, max_attempts=1)
    async with run_server(sources, CacheSettings(backend="none")) as running:
        yield running


def _page(vendor: str, next_cursor: str | None) -> tuple[str, dict[str, Any]]:
    path, build, users = PAGES[vendor]
    return path, build(users, next_cursor)


@pytest.mark.parametrize("vendor", sorted(PAGES))
async def test_a_record_without_id_is_skipped_with_one_warning_and_the_page_stands(
    server: GraphQLServer, emulator: Emulator, vendor: str
) -> None:
    path, body = _page(vendor, None)
    emulator.inject_fault(vendor, path, status=200, body=body, times=None)
    answer = await server.post(USERS, {"source": DEMO_SOURCES[vendor]})
    assert [edge["node"]["remoteId"] for edge in answer["data"]["users"]["edges"]] == ["u1"]
    (warning,) = answer["errors"]
    assert warning["extensions"] == {
        "code": "SOURCE_BAD_RECORD",
        "source": DEMO_SOURCES[vendor],
        "vendor": vendor,
        "endpoint": path,
        "count": 1,
    }


@pytest.mark.parametrize("vendor", sorted(PAGES))
async def test_a_looping_cursor_fails_its_source_and_spares_the_others(
    server: GraphQLServer, emulator: Emulator, vendor: str
) -> None:
    path, body = _page(vendor, "same-cursor-again")
    emulator.inject_fault(vendor, path, status=200, body=body, times=None)
    looping = await server.post(USERS, {"source": DEMO_SOURCES[vendor]})
    assert looping["data"]["users"]["edges"] == []  # not the same user fifty times
    codes = {e["extensions"]["code"]: e["extensions"] for e in looping["errors"]}
    assert codes["SOURCE_BAD_RESPONSE"]["source"] == DEMO_SOURCES[vendor]
    # Two vendor calls: the first page, and the page its cursor named, which named itself.
    assert emulator.count(vendor, path) == 2
    other = "kombo" if vendor == "stackone" else "stackone"
    fine = await server.data(USERS, {"source": DEMO_SOURCES[other]})
    assert len(fine["users"]["edges"]) > 0


PROGRESSIONS = """
query($after: String) {
  progressions(first: 5, after: $after) {
    pageInfo { hasNextPage endCursor }
    edges { node { id } }
  }
}
"""


async def test_a_vendor_ignoring_page_size_costs_no_more_than_the_page_asked_for() -> None:
    """Skilljar's spec declares no ``page_size`` on ``/v1/users``: if it serves all 60
    users at once, one GraphQL page still fans out to one vendor page's worth of users
    (25, the smallest vendor page), not to all 60."""
    world = generate_world(4, users=60, courses=6, id_style="lower36")
    tenant = SkilljarTenant("sj-key", "academy.example", world, ignores_page_size=True)
    settings = SkilljarSettings(
        kind="skilljar",
        name="academy",
        base_url="http://unused",
        api_key=SecretStr(tenant.api_key),
        domain=tenant.domain,
        max_attempts=1,
    )
    async with Emulator(skilljar_tenants=[tenant]) as emulator:
        source = settings.model_copy(update={"base_url": emulator.vendor_base_url("skilljar")})
        async with run_server([source], CacheSettings(backend="none")) as server:
            first = await server.data(PROGRESSIONS)
            per_user = [r for r in emulator.requests if r.path.endswith("/published-courses")]
            assert emulator.count("skilljar", "/v1/users") == 1
            assert len(per_user) == 25  # before: 60, one per user of the vendor's page
            emulator.clear_requests()
            cursor = first["progressions"]["pageInfo"]["endCursor"]
            second = await server.data(PROGRESSIONS, {"after": cursor})
    ids = [edge["node"]["id"] for edge in first["progressions"]["edges"]]
    more = [edge["node"]["id"] for edge in second["progressions"]["edges"]]
    assert len(ids) == len(more) == 5
    assert not set(ids) & set(more)
