"""A Relay-style network layer sending ``doc_id`` for documents of a registered Relay map."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from connectors.sandbox import Emulator, KomboTenant
from connectors.settings import SourceSettings
from tests.clients.conftest import run_node
from tests.clients.recording import Exchange, RequestLog
from tests.e2e.expected import live_users
from tests.harness import run_server

USERS = "query UsersQuery($first: Int!) { users(first: $first) { edges { node { id email } } } }"
#: Relay's compiler names each persisted document by the MD5 of its text.
DOC_ID = hashlib.md5(USERS.encode(), usedforsecurity=False).hexdigest()


def relay_map(tmp_path: Path) -> Path:
    """Relay's ``persisted_queries.json``: ``{"<id>": "<text>"}``."""
    path = tmp_path / "persisted_queries.json"
    path.write_text(json.dumps({DOC_ID: USERS}), encoding="utf-8")
    return path


def assert_refused(exchange: Exchange, status: int, code: str) -> None:
    """One GraphQL error with ``code``, as JSON, and no data."""
    assert exchange.status == status, exchange.describe()
    assert exchange.response_headers["content-type"].startswith("application/json")
    assert isinstance(exchange.response, dict), exchange.response
    assert "data" not in exchange.response
    assert exchange.error_codes == [code], exchange.response


async def test_relay_doc_id_runs_the_registered_document(
    node: None,
    sources: list[SourceSettings],
    tenant: KomboTenant,
    log: RequestLog,
    tmp_path: Path,
) -> None:
    documents = {"mode": "trusted", "manifests": [str(relay_map(tmp_path))]}
    async with run_server(sources, wrap=log, documents=documents) as server:
        answer = await run_node("relay_doc_id.mjs", server.url + "/graphql", DOC_ID, '{"first": 3}')

    print("\n".join(log.describe()))
    assert answer["status"] == 200, answer
    edges = answer["body"]["data"]["users"]["edges"]
    assert [e["node"]["email"] for e in edges] == [u.email for u in live_users(tenant.world)[:3]]
    (exchange,) = log.exchanges
    assert exchange.payload == {"doc_id": DOC_ID, "variables": {"first": 3}}


async def test_trusted_mode_refuses_what_is_not_registered_and_runs_nothing(
    node: None,
    sources: list[SourceSettings],
    emulator: Emulator,
    log: RequestLog,
    tmp_path: Path,
) -> None:
    documents = {"mode": "trusted", "manifests": [str(relay_map(tmp_path))]}
    async with run_server(sources, wrap=log, documents=documents) as server:
        emulator.clear_requests()
        unknown = await run_node("relay_doc_id.mjs", server.url + "/graphql", "0" * 32, "{}")
        # The registered text itself, sent as a query rather than by ID, is refused too.
        payload = {"query": USERS.replace("$first", "$n"), "variables": {"n": 1}}
        async with server.session.post(server.url + "/graphql", json=payload) as response:
            await response.read()

    print("\n".join(log.describe()))
    assert unknown["status"] == 404, unknown
    by_id, by_text = log.exchanges
    assert_refused(by_id, 404, "PERSISTED_QUERY_NOT_FOUND")
    assert_refused(by_text, 403, "PERSISTED_QUERY_REQUIRED")
    assert emulator.requests == []
