"""README promises through the real server that no other test pins: error extensions,
the masked internal error, cursors bound to their filters, the backward-scan bound and
look-up batches larger than the vendor's batch size."""

from __future__ import annotations

import base64
import dataclasses
import logging
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest

from connectors.kombo.client import MAX_IDS_PER_CALL
from connectors.sandbox import Emulator, KomboTenant, generate_world
from resolvers.paging import MAX_BACKWARD_SCAN
from tests.harness import GraphQLServer, kombo_source, run_server

USERS = """
query($first: Int, $after: String, $updatedAfter: DateTime, $deleted: Boolean! = false,
      $sources: [String!]) {
  users(first: $first, after: $after, updatedAfter: $updatedAfter, includeDeleted: $deleted,
        sources: $sources) {
    edges { cursor node { remoteId } }
  }
}
"""


def kombo_error(code: str | None) -> dict[str, Any]:
    return {"status": "error", "error": {"code": code, "title": None, "message": "no"}}


@pytest.mark.parametrize(
    ("fault", "extensions", "detail"),
    [
        (
            {"status": 429, "headers": {"Retry-After": "120"}, "body": kombo_error(None)},
            {"code": "SOURCE_RATE_LIMITED", "httpStatus": 429, "retryAfterSeconds": 120},
            "rate limited",
        ),
        (
            {"status": 429, "body": kombo_error("PLATFORM.RATE_LIMIT_EXCEEDED")},
            {
                "code": "SOURCE_RATE_LIMITED",
                "httpStatus": 429,
                "vendorCode": "PLATFORM.RATE_LIMIT_EXCEEDED",
            },
            "rate limited",
        ),
        (
            {"status": 503, "body": "<html>down</html>"},
            {"code": "SOURCE_UNAVAILABLE", "httpStatus": 503},
            "vendor failed",
        ),
        (
            {"status": 404, "body": kombo_error("X.Y")},
            {"code": "SOURCE_NOT_FOUND", "httpStatus": 404, "vendorCode": "X.Y"},
            "not found",
        ),
        (
            {"status": 401, "body": kombo_error(None)},
            {"code": "SOURCE_AUTH_FAILED", "httpStatus": 401},
            "credentials or tenant rejected",
        ),
        # statuses no table names: below 500 the vendor refused, 2xx must be JSON
        (
            {"status": 418, "body": "<html>teapot</html>"},
            {"code": "SOURCE_REJECTED_REQUEST", "httpStatus": 418},
            "request rejected",
        ),
        (
            {"status": 300, "body": "<html>choose</html>"},
            {"code": "SOURCE_REJECTED_REQUEST", "httpStatus": 300},
            "request rejected",
        ),
        (
            {"status": 200, "body": "<html>oops</html>"},
            {"code": "SOURCE_BAD_RESPONSE", "httpStatus": 200},
            "response is not JSON",
        ),
        (
            {"status": 201, "body": "<html>made</html>"},
            {"code": "SOURCE_BAD_RESPONSE", "httpStatus": 201},
            "response is not JSON",
        ),
        (
            {"status": 200, "body": {"status": "success", "data": {"rows": []}}},
            {"code": "SOURCE_BAD_RESPONSE", "httpStatus": 200},
            "unexpected response shape (2 problems)",
        ),
        (
            {"status": 299, "body": "not json"},
            {"code": "SOURCE_BAD_RESPONSE", "httpStatus": 299},
            "response is not JSON",
        ),
    ],
)
async def test_source_errors_carry_the_vendors_status_and_retry_after(
    emulator: Emulator,
    tenant: KomboTenant,
    fault: dict[str, Any],
    extensions: dict[str, Any],
    detail: str,
) -> None:
    async with run_server([kombo_source("acme", emulator, tenant, max_attempts=1)]) as server:
        emulator.inject_fault("kombo", "/lms/users", times=None, **fault)
        body = await server.post(USERS, {"first": 3})
    (error,) = body["errors"]
    assert error["extensions"] == {"source": "acme", "vendor": "kombo", **extensions}
    assert error["path"] == ["users"]
    code = f" [{extensions['vendorCode']}]" if "vendorCode" in extensions else ""
    status = extensions["httpStatus"]
    assert error["message"] == (
        f"source 'acme' (kombo) on GET /lms/users (HTTP {status}){code}: {detail}"
    )


async def test_a_vendor_that_refuses_connections_is_unavailable(
    emulator: Emulator, tenant: KomboTenant
) -> None:
    with socket.socket() as sock:  # a port nothing listens on once this block ends
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}/kombo/v1"
    source = kombo_source("acme", emulator, tenant, max_attempts=1).model_copy(
        update={"base_url": closed}
    )
    async with run_server([source]) as server:
        body = await server.post(USERS, {"first": 3})
    (error,) = body["errors"]
    assert error["extensions"] == {
        "code": "SOURCE_UNAVAILABLE",
        "source": "acme",
        "vendor": "kombo",
    }
    assert error["message"] == (
        "source 'acme' (kombo) on GET /lms/users: connection failed (ClientConnectorError)"
    )


async def test_proxies_set_in_the_environment_are_not_used(
    emulator: Emulator, tenant: KomboTenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Vendors are called directly: a proxy in the environment would see credentials."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{sock.getsockname()[1]}"
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, nowhere)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with run_server([kombo_source("acme", emulator, tenant, max_attempts=1)]) as server:
        emulator.clear_requests()
        assert len((await server.data(USERS, {"first": 3}))["users"]["edges"]) == 3
    assert emulator.count("kombo", "/lms/users") == 1


async def test_an_unexpected_exception_is_masked_and_logged(
    emulator: Emulator, tenant: KomboTenant, caplog: pytest.LogCaptureFixture
) -> None:
    """No test double: a vendor answer nested deeper than Python's JSON parser allows
    raises RecursionError inside the transport, which is not a ConnectorError, so the
    server's catch-all is what shapes it. (When that input gets its own SOURCE_* code,
    drive this test with another unclassified failure.)"""
    caplog.set_level(logging.ERROR)
    deep = "[" * 100_000 + "]" * 100_000
    async with run_server([kombo_source("acme", emulator, tenant, max_attempts=1)]) as server:
        emulator.inject_fault("kombo", "/lms/users", status=200, body=deep, times=None)
        body = await server.post(USERS, {"first": 3})
    (error,) = body["errors"]
    assert error["message"] == "Unexpected error; the server log has details."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert error["path"] == ["users"]
    shown = str(body).lower()
    for leak in ("recursion", "traceback", "json", "decod", "kombo", tenant.api_key):
        assert leak not in shown
    assert "RecursionError" in caplog.text  # the server log has the details


async def test_a_cursor_only_continues_the_list_and_filters_it_came_from(
    emulator: Emulator, tenant: KomboTenant, second_tenant: KomboTenant
) -> None:
    sources = [
        kombo_source("acme", emulator, tenant),
        kombo_source("globex", emulator, second_tenant),
    ]
    moment = "2025-01-01T00:00:00+00:00"
    issued_with: dict[str, Any] = {"first": 2, "updatedAfter": moment, "sources": ["acme"]}
    async with run_server(sources) as server:
        page = (await server.data(USERS, issued_with))["users"]["edges"]
        cursor = page[-1]["cursor"]
        same = await server.data(USERS, {**issued_with, "after": cursor})
        assert same["users"]["edges"], "the cursor must work with the filters it came with"
        for changed in (
            {"updatedAfter": None},
            {"updatedAfter": "2025-01-01T00:00:01+00:00"},
            {"deleted": True},
            {"sources": ["acme", "globex"]},
            {"sources": None},
        ):
            body = await server.post(USERS, {**issued_with, **changed, "after": cursor})
            assert [e["extensions"]["code"] for e in body["errors"]] == ["INVALID_CURSOR"], changed
            assert "different list or different filters" in body["errors"][0]["message"]


# -- last/before read forwards, up to MAX_BACKWARD_SCAN items ----------------------------

BACKWARD = """
query($source: String!) {
  users(last: 250, source: $source, includeDeleted: true) {
    pageInfo { hasPreviousPage hasNextPage }
    edges { node { remoteId } }
  }
}
"""


@pytest.fixture
async def long_lists() -> AsyncIterator[tuple[Emulator, KomboTenant, KomboTenant]]:
    """Two Kombo tenants: one with exactly MAX_BACKWARD_SCAN users, one with one more."""
    world = generate_world(seed=3, users=MAX_BACKWARD_SCAN + 1)
    edge = dataclasses.replace(world, users=world.users[:MAX_BACKWARD_SCAN], progressions=())
    longer = dataclasses.replace(world, progressions=())
    tenants = (KomboTenant("edge-key", "edge:1", edge), KomboTenant("long-key", "long:1", longer))
    async with Emulator(list(tenants)) as emulator:
        yield emulator, *tenants


async def test_last_reads_up_to_the_backward_scan_bound_and_refuses_beyond(
    long_lists: tuple[Emulator, KomboTenant, KomboTenant],
) -> None:
    emulator, edge, longer = long_lists
    sources = [kombo_source("edge", emulator, edge), kombo_source("long", emulator, longer)]
    async with run_server(sources) as server:
        within = (await server.data(BACKWARD, {"source": "edge"}))["users"]
        beyond = await server.post(BACKWARD, {"source": "long"})
    assert [e["node"]["remoteId"] for e in within["edges"]] == [u.id for u in edge.world.users][
        -250:
    ]
    assert within["pageInfo"] == {"hasPreviousPage": True, "hasNextPage": False}
    assert beyond["data"] is None
    (error,) = beyond["errors"]
    assert error["extensions"] == {"code": "INVALID_ARGUMENT"}
    assert f"more than {MAX_BACKWARD_SCAN} items" in error["message"]


# -- look-up batches larger than the vendor's batch size ----------------------------------


def gid(type_name: str, key: str, source: str = "acme") -> str:
    return base64.b64encode(f"{type_name}:{source}:{key}".encode()).decode()


async def test_a_batch_larger_than_the_vendors_goes_out_in_parallel_chunks(
    server: GraphQLServer, emulator: Emulator, tenant: KomboTenant
) -> None:
    """The DataLoader splits keys at the vendor's batch size (Kombo: 100 IDs per call)
    and sends the chunks at once, not one after another."""
    users = tenant.world.users[: MAX_IDS_PER_CALL + 20]
    emulator.latency_seconds = 0.2  # every call is still open when the next one starts
    emulator.clear_requests()
    body = await server.data(
        "query($ids: [ID!]!) { nodes(ids: $ids) { ... on User { email } } }",
        {"ids": [gid("User", u.id) for u in users]},
    )
    assert [node["email"] for node in body["nodes"]] == [u.email for u in users]
    chunks = sorted(len(r.query["ids"].split(",")) for r in emulator.requests)
    assert chunks == [20, MAX_IDS_PER_CALL]
    assert {r.path for r in emulator.requests} == {"/lms/users"}
    assert emulator.peak_in_flight == 2


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ users { nope } }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ users(first: 1) }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ users(first: ", "GRAPHQL_PARSE_FAILED"),
    ],
)
async def test_a_query_that_does_not_validate_says_so_in_its_code(
    server: GraphQLServer, query: str, code: str
) -> None:
    async with server.session.post(server.url + "/graphql", json={"query": query}) as response:
        body = await response.json()
    assert [error["extensions"] for error in body["errors"]] == [{"code": code}]


async def test_source_and_sources_together_are_refused(server: GraphQLServer) -> None:
    body = await server.post('{ users(source: "acme", sources: ["acme"]) { edges { cursor } } }')
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "INVALID_ARGUMENT"}
    assert error["message"] == "pass either `source` or `sources`, not both"


NESTED = "{ users(first: 2) { edges { node {\n  progressions { totalCount } } } } }"


async def nested_failure(emulator: Emulator, tenant: KomboTenant) -> dict[str, Any]:
    async with run_server([kombo_source("acme", emulator, tenant, max_attempts=1)]) as server:
        emulator.inject_fault("kombo", "/lms/course-progressions", status=503, times=None)
        return await server.post(NESTED)


async def test_a_nested_source_error_keeps_its_message_and_path(
    emulator: Emulator, tenant: KomboTenant
) -> None:
    body = await nested_failure(emulator, tenant)
    assert [edge["node"] for edge in body["data"]["users"]["edges"]] == [{"progressions": None}] * 2
    for index, error in enumerate(body["errors"]):
        assert error["message"] == (
            "source 'acme' (kombo) on GET /lms/course-progressions (HTTP 503) "
            "[PLATFORM.UNKNOWN_ERROR]: vendor failed"
        )
        assert error["path"] == ["users", "edges", index, "node", "progressions"]
        assert len(error["locations"]) == 1


async def test_a_nested_source_error_is_located_at_its_field(
    emulator: Emulator, tenant: KomboTenant
) -> None:
    body = await nested_failure(emulator, tenant)
    assert [error["locations"] for error in body["errors"]] == [[{"line": 2, "column": 3}]] * 2
