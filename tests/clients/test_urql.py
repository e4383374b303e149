"""urql asks for application/graphql-response+json first, and gets it."""

from __future__ import annotations

from connectors.sandbox import KomboTenant
from connectors.settings import SourceSettings
from tests.clients.conftest import run_node
from tests.clients.recording import RequestLog
from tests.e2e.expected import live_users
from tests.harness import run_server

RESPONSE_JSON = "application/graphql-response+json"


async def test_urql_gets_graphql_response_json(
    node: None, sources: list[SourceSettings], tenant: KomboTenant, log: RequestLog
) -> None:
    async with run_server(sources, wrap=log) as server:
        url = server.url + "/graphql"
        ok = await run_node(
            "urql_query.mjs", url, "{ users(first: 2) { edges { node { email } } } }"
        )
        invalid = await run_node("urql_query.mjs", url, "{ users(first: 2) { nope } }")

    print("\n".join(log.describe()))
    emails = [e["node"]["email"] for e in ok["data"]["users"]["edges"]]
    assert emails == [u.email for u in live_users(tenant.world)[:2]]
    # urql reads the error body of a 4xx answer as GraphQL errors, codes included.
    assert invalid["data"] is None
    assert [e["code"] for e in invalid["graphQLErrors"]] == ["GRAPHQL_VALIDATION_FAILED"]
    query, validation = log.exchanges
    for exchange in (query, validation):
        assert exchange.headers["accept"].startswith(RESPONSE_JSON)
        assert exchange.response_headers["content-type"].startswith(RESPONSE_JSON)
    assert (query.status, validation.status) == (200, 400)
    assert "data" not in validation.response
