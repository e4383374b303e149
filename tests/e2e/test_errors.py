"""Bad input and failing vendors: clear errors, no tracebacks, no secrets, no lost data."""

from __future__ import annotations

import base64

import pytest

from connectors.sandbox import Emulator, KomboTenant
from tests.harness import CANONICAL_QUERY, GraphQLServer, kombo_source, run_server

USERS = """
query($first: Int, $after: String) {
  users(first: $first, after: $after) { edges { cursor node { id source email } } }
}
"""


def _codes(body: dict[str, object]) -> list[object]:
    return [error["extensions"]["code"] for error in body["errors"]]  # type: ignore[index, union-attr]


@pytest.mark.parametrize(
    ("raw_id", "fragment"),
    [
        ("not-base64!!", "not an ID this API issued"),
        (base64.b64encode(b"Planet:acme:1").decode(), "unknown type 'Planet'"),
        (base64.b64encode(b"User:nowhere:1").decode(), "source 'nowhere', which is not configured"),
        (base64.b64encode(b"User:acme").decode(), "not one this API issued"),
    ],
)
async def test_bad_ids_get_a_clear_error(server: GraphQLServer, raw_id: str, fragment: str) -> None:
    body = await server.post("query($id: ID!) { node(id: $id) { id } }", {"id": raw_id})
    assert body["data"] == {"node": None}
    assert _codes(body) == ["INVALID_ID"]
    assert fragment in body["errors"][0]["message"]


async def test_unknown_id_of_a_known_source_is_null_without_error(server: GraphQLServer) -> None:
    raw = base64.b64encode(b"User:acme:doesNotExist000000000000000").decode()
    body = await server.post("query($id: ID!) { user(id: $id) { id } }", {"id": raw})
    assert body == {"data": {"user": None}}


async def test_nodes_fail_one_by_one(server: GraphQLServer, tenant: KomboTenant) -> None:
    good = base64.b64encode(f"User:acme:{tenant.world.users[0].id}".encode()).decode()
    body = await server.post(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on User { email } } }",
        {"ids": [good, "garbage", good]},
    )
    nodes = body["data"]["nodes"]
    assert nodes[0] == nodes[2] == {"id": good, "email": tenant.world.users[0].email}
    assert nodes[1] is None
    assert body["errors"][0]["path"] == ["nodes", 1]


async def test_a_user_id_is_not_a_course_id(server: GraphQLServer, tenant: KomboTenant) -> None:
    raw = base64.b64encode(f"User:acme:{tenant.world.users[0].id}".encode()).decode()
    body = await server.post("query($id: ID!) { course(id: $id) { id } }", {"id": raw})
    assert "is a User ID, not a Course ID" in body["errors"][0]["message"]


async def test_tampered_and_foreign_cursors_are_refused(server: GraphQLServer) -> None:
    page = (await server.data(USERS, {"first": 2}))["users"]["edges"]
    cursor = page[-1]["cursor"]
    raw = bytearray(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    raw[10] ^= 1
    tampered = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    for bad in (tampered, "xyz", ""):
        body = await server.post(USERS, {"first": 2, "after": bad})
        assert _codes(body) == ["INVALID_CURSOR"], bad
        assert "Traceback" not in str(body)
    foreign = await server.post(
        "query($after: String) { courses(first: 2, after: $after) { edges { cursor } } }",
        {"after": cursor},
    )
    assert _codes(foreign) == ["INVALID_CURSOR"]
    assert "different list" in foreign["errors"][0]["message"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("first: 251", "`first` must be at most 250, got 251"),
        ("first: -1", "`first` must not be negative"),
        ("last: -1", "`last` must not be negative"),
        ('sources: ["nope"]', "unknown source(s) 'nope'"),
    ],
)
async def test_bad_arguments_get_a_clear_error(
    server: GraphQLServer, args: str, message: str
) -> None:
    body = await server.post(f"{{ users({args}) {{ edges {{ cursor }} }} }}")
    assert _codes(body) == ["INVALID_ARGUMENT"]
    assert message in body["errors"][0]["message"]


async def test_malformed_query_is_a_clear_error(server: GraphQLServer) -> None:
    async with server.session.post(server.url + "/graphql", json={"query": "{ users(first: "}) as r:
        body = await r.json()
    assert "Syntax Error" in body["errors"][0]["message"]
    body = await server.post("{ users { nope } }")
    assert "Cannot query field 'nope'" in body["errors"][0]["message"]


async def test_failing_source_keeps_the_others_and_names_itself(
    emulator: Emulator, tenant: KomboTenant, second_tenant: KomboTenant
) -> None:
    sources = [
        kombo_source("acme", emulator, tenant, max_attempts=2),
        kombo_source("globex", emulator, second_tenant, max_attempts=2),
    ]
    async with run_server(sources) as server:
        emulator.inject_fault("kombo", "/lms/users", status=500, times=None)
        # The fault hits both tenants' users calls, so make it tenant-specific by
        # breaking globex's credentials instead for the second half of this test.
        body = await server.post(USERS, {"first": 10})
        emulator.clear_faults()
        assert body["data"]["users"]["edges"] == []
        assert {e["extensions"]["source"] for e in body["errors"]} == {"acme", "globex"}
        assert set(_codes(body)) == {"SOURCE_UNAVAILABLE"}

    broken = kombo_source("globex", emulator, second_tenant).model_copy(
        update={"api_key": kombo_source("x", emulator, tenant).api_key}
    )
    async with run_server([kombo_source("acme", emulator, tenant), broken]) as server:
        body = await server.post(USERS, {"first": 10})
    edges = body["data"]["users"]["edges"]
    assert len(edges) == 10
    assert {edge["node"]["source"] for edge in edges} == {"acme"}
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "SOURCE_AUTH_FAILED"
    assert error["extensions"]["source"] == "globex"
    assert error["extensions"]["vendorCode"] == "PLATFORM.AUTHENTICATION_INVALID"
    assert error["path"] == ["users"]
    assert tenant.api_key not in str(body)
    assert second_tenant.api_key not in str(body)


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ({"status": 200, "body": "<html>oops</html>"}, "SOURCE_BAD_RESPONSE"),
        (
            {"status": 200, "body": {"status": "success", "data": {"rows": []}}},
            "SOURCE_BAD_RESPONSE",
        ),
        ({"status": 429, "headers": {"Retry-After": "120"}}, "SOURCE_RATE_LIMITED"),
        ({"status": 503}, "SOURCE_UNAVAILABLE"),
    ],
)
async def test_nested_vendor_failure_nulls_only_that_field(
    emulator: Emulator, tenant: KomboTenant, fault: dict[str, object], code: str
) -> None:
    async with run_server([kombo_source("acme", emulator, tenant, max_attempts=1)]) as server:
        emulator.inject_fault("kombo", "/lms/course-progressions", times=None, **fault)  # type: ignore[arg-type]
        body = await server.post(CANONICAL_QUERY, {"first": 3})
    edges = body["data"]["users"]["edges"]
    assert [edge["node"]["progressions"] for edge in edges] == [None, None, None]
    assert all(edge["node"]["email"] for edge in edges)
    assert {e["extensions"]["code"] for e in body["errors"]} == {code}
    assert {e["extensions"]["source"] for e in body["errors"]} == {"acme"}
    assert body["errors"][0]["path"][-1] == "progressions"


async def test_vendor_that_hangs_times_out_as_unavailable(
    emulator: Emulator, tenant: KomboTenant
) -> None:
    source = kombo_source("acme", emulator, tenant, max_attempts=1, timeout_seconds=0.3)
    async with run_server([source]) as server:
        emulator.inject_fault("kombo", "/lms/users", status=200, delay_seconds=2)
        body = await server.post(USERS, {"first": 1})
    assert _codes(body) == ["SOURCE_UNAVAILABLE"]
    assert body["errors"][0]["message"].endswith(": timed out")


async def test_credentials_never_reach_logs_or_responses(
    emulator: Emulator,
    tenant: KomboTenant,
    second_tenant: KomboTenant,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level("DEBUG")
    wrong_key = kombo_source("globex", emulator, second_tenant).model_copy(
        update={"api_key": kombo_source("x", emulator, tenant).api_key}
    )
    sources = [kombo_source("acme", emulator, tenant, max_attempts=2), wrong_key]
    async with run_server(sources) as server:
        emulator.inject_fault("kombo", "/lms/course-progressions", status=500, times=None)
        bodies = [
            await server.post(CANONICAL_QUERY, {"first": 3}),
            await server.post("{ sources { health { ok message } } }"),
        ]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "SOURCE_AUTH_FAILED" in str(bodies)
    assert "globex" in logged
    for secret in (tenant.api_key, second_tenant.api_key):
        assert secret not in logged
        assert secret not in str(bodies)
