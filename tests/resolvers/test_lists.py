"""Top-level lists through the schema, against a vendor answered by aioresponses."""

from __future__ import annotations

import re
from typing import Any

from pydantic import SecretStr

from connectors._http import RetryPolicy
from connectors.kombo.client import KomboConnector
from resolvers.sources import SourceRegistry
from tests.connectors.fixtures import load_fixture, select, with_next
from tests.connectors.kombo.env import KOMBO_API_KEY, KOMBO_BASE_URL, KOMBO_INTEGRATION_ID
from tests.connectors.kombo.test_client import JONAS, SARAH
from tests.connectors.strict_mock import StrictAioresponses
from tests.harness import execute_in_process

USERS = re.escape(f"{KOMBO_BASE_URL}/lms/users")


def acme_registry() -> SourceRegistry:
    """One Kombo source, "acme", answered by the test's aioresponses; no retries."""
    connector = KomboConnector(
        name="acme",
        base_url=KOMBO_BASE_URL,
        api_key=SecretStr(KOMBO_API_KEY),
        integration_id=KOMBO_INTEGRATION_ID,
        retry=RetryPolicy(max_attempts=1),
    )
    return SourceRegistry([connector])


def users_page(user_id: str, next_cursor: str) -> dict[str, Any]:
    return with_next(select(load_fixture("kombo", "users"), user_id), next_cursor)


async def test_a_vendor_that_hands_back_a_cursor_it_gave_before_fails_that_source() -> None:
    """A vendor looping over its pages would make a scan to the end read forever."""
    registry = acme_registry()
    with StrictAioresponses() as mock:
        # whatever page size the scan asks for
        first, then = (re.compile(rf"{USERS}\?{q}page_size=\d+$") for q in ("", "cursor=p2&"))
        mock.get(first, payload=users_page(SARAH, "p2"))
        mock.get(then, payload=users_page(JONAS, "p2"))
        await registry.open()
        try:
            query = "{ users(last: 1) { edges { node { id } } } }"
            data, errors = await execute_in_process(query, registry)
        finally:
            await registry.close()
        assert not mock.problems()
    assert data == {"users": {"edges": []}}
    assert [(e["path"], e["extensions"]) for e in errors] == [
        (["users"], {"code": "SOURCE_BAD_RESPONSE", "source": "acme", "vendor": "kombo"})
    ]
    assert errors[0]["message"] == "source 'acme' (kombo): users: pagination cursor repeated"


async def test_source_and_sources_together_are_refused_before_any_call() -> None:
    registry = SourceRegistry([])  # no vendor to call: the refusal comes first
    data, errors = await execute_in_process(
        '{ users(first: 1, source: "acme", sources: ["acme"]) { edges { cursor } } }', registry
    )
    assert data is None
    assert [(e["message"], e["extensions"]) for e in errors] == [
        ("pass either `source` or `sources`, not both", {"code": "INVALID_ARGUMENT"})
    ]


async def test_a_cursor_of_one_list_is_refused_by_another() -> None:
    registry = acme_registry()
    with StrictAioresponses() as mock:
        mock.get(re.compile(rf"{USERS}\?page_size=\d+$"), payload=users_page(SARAH, "p2"))
        await registry.open()
        try:
            data, _ = await execute_in_process("{ users(first: 1) { edges { cursor } } }", registry)
            (edge,) = data["users"]["edges"]
            data, errors = await execute_in_process(
                f'{{ courses(first: 1, after: "{edge["cursor"]}") {{ edges {{ cursor }} }} }}',
                registry,
            )
        finally:
            await registry.close()
        assert not mock.problems()  # and no courses call
    assert [e["extensions"] for e in errors] == [{"code": "INVALID_CURSOR"}]
    assert errors[0]["message"].startswith("cursor belongs to a different list")
