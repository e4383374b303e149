"""Error shaping: codes, the cap with its summary, and locations found by the indexed source."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from graphql import Source
from pydantic import SecretStr
from strawberry.relay import to_base64

from connectors._http import RetryPolicy
from connectors.absorb import AbsorbConnector
from connectors.errors import VendorRateLimited, VendorUnavailable
from connectors.kombo import KomboConnector
from connectors.records import BadRecords
from connectors.sandbox import Emulator, generate_world
from connectors.sandbox.absorb import AbsorbTenant
from graph.errors import IndexedSource, bad_record_errors, source_error_extensions
from resolvers.ids import join_node_id
from resolvers.sources import SourceRegistry
from tests.harness import execute_in_process


@pytest.mark.parametrize("seed", range(5))
def test_indexed_source_locates_like_graphql_core(seed: int) -> None:
    rng = random.Random(seed)
    body = "".join(rng.choice("ab \n\r\t") for _ in range(2_000))
    indexed, plain = IndexedSource(body), Source(body)
    for position in range(len(body) + 1):
        if body[position - 1 : position + 1] == "\r\n":
            continue  # inside a line break: never where a token starts
        assert indexed.get_location(position) == plain.get_location(position), position


async def test_errors_keep_their_locations_and_get_codes() -> None:
    query = '{\n  a: node(id: "bad") { id }\r\n  b: node(id: "worse") { id }\n}'
    _, errors = await execute_in_process(query, SourceRegistry([]))
    assert [e["locations"] for e in errors] == [
        [{"line": 2, "column": 3}],
        [{"line": 3, "column": 3}],
    ]
    assert [e["path"] for e in errors] == [["a"], ["b"]]
    assert {e["extensions"]["code"] for e in errors} == {"INVALID_ID"}
    assert [e["message"] for e in errors] == [
        "'bad' is not an ID this API issued",
        "'worse' is not an ID this API issued",
    ]


async def test_past_the_cap_one_summary_error() -> None:
    query = "{ " + " ".join(f'a{i}: node(id: "bad") {{ id }}' for i in range(12)) + " }"
    _, errors = await execute_in_process(query, SourceRegistry([]), max_errors=10)
    assert len(errors) == 11
    summary = errors[-1]
    assert summary["extensions"] == {"code": "TOO_MANY_ERRORS", "leftOut": 2}
    assert summary["message"] == (
        "2 more errors were left out; a response carries at most 10 "
        "(fix the first ones, or ask for less)"
    )


async def test_a_failing_sources_error_is_located_at_its_field() -> None:
    # A refused connection on the discard port: the vendor call fails at once.
    connector = KomboConnector(
        name="acme",
        base_url="http://127.0.0.1:9",
        api_key=SecretStr("key"),
        integration_id="x:1",
        retry=RetryPolicy(max_attempts=1),
    )
    registry = SourceRegistry([connector])
    await registry.open()
    try:
        node_id = to_base64("Course", join_node_id("acme", "c1"))
        query = f'{{\n  ok: __typename\n     x: node(id: "{node_id}") {{ id }}\n}}'
        _, errors = await execute_in_process(query, registry)
    finally:
        await registry.close()
    assert len(errors) == 1
    assert errors[0]["locations"] == [{"line": 3, "column": 6}]
    assert errors[0]["path"] == ["x"]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("{ __typename", "GRAPHQL_PARSE_FAILED"),
        ("{ noSuchField }", "GRAPHQL_VALIDATION_FAILED"),
        # a variable that does not coerce (here: missing) fails before execution starts
        (
            "query Q($first: Int!) { users(first: $first) { totalCount } }",
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ],
)
async def test_a_request_that_does_not_parse_or_validate_gets_its_code(
    query: str, code: str
) -> None:
    _, errors = await execute_in_process(query, SourceRegistry([]))
    assert [e["extensions"] for e in errors] == [{"code": code}]
    assert errors[0]["locations"]


def test_bad_records_are_one_warning_per_vendor_page() -> None:
    first = BadRecords("acme", "kombo", "/lms/users", 2, page="cursor=a")
    again = BadRecords("acme", "kombo", "/lms/users", 2, page="cursor=a")
    other = BadRecords("acme", "kombo", "/lms/users", 1, page="cursor=b")
    errors = [error.formatted for error in bad_record_errors([first, again, other])]
    assert errors == [
        {
            "message": notice.message,
            "extensions": {
                "code": "SOURCE_BAD_RECORD",
                "source": "acme",
                "vendor": "kombo",
                "endpoint": "/lms/users",
                "count": notice.count,
            },
        }
        for notice in (first, other)
    ]


def test_a_source_errors_extensions_carry_only_what_is_known() -> None:
    bare = VendorUnavailable("down", source="acme", vendor="kombo")
    assert source_error_extensions(bare) == {
        "code": bare.code,
        "source": "acme",
        "vendor": "kombo",
    }
    full = VendorRateLimited(
        "slow down",
        source="acme",
        vendor="kombo",
        status=429,
        vendor_code="RATE",
        retry_after=0.0,
        breaker="open",
    )
    assert source_error_extensions(full) == {
        "code": full.code,
        "source": "acme",
        "vendor": "kombo",
        "httpStatus": 429,
        "vendorCode": "RATE",
        "retryAfterSeconds": 0.0,
        "breaker": "open",
    }
    assert bare.code != full.code


async def test_a_failing_source_of_a_list_is_reported_next_to_the_data() -> None:
    connector = KomboConnector(
        name="acme",
        base_url="http://127.0.0.1:9",
        api_key=SecretStr("key"),
        integration_id="x:1",
        retry=RetryPolicy(max_attempts=1),
    )
    registry = SourceRegistry([connector])
    await registry.open()
    try:
        query = "{ list: courses(first: 2) { edges { node { id } } } }"
        data, errors = await execute_in_process(query, registry)
    finally:
        await registry.close()
    assert data == {"list": {"edges": []}}
    assert [(e["path"], e["extensions"]["source"]) for e in errors] == [(["list"], "acme")]
    assert errors[0]["extensions"]["code"] == "SOURCE_UNAVAILABLE"
    assert "acme" in str(errors[0]["message"])


async def test_a_vendor_value_past_graphqls_int_is_an_internal_error_of_its_field(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """GraphQL's Int has 32 bits: graphql-core refuses to serialise a bigger value with a
    GraphQLError of its own while executing. The request was valid, so that is the fixed
    internal error at the field (not a GRAPHQL_* code), and the rest of each node stands."""
    world = generate_world(3, users=3, id_style="guid")
    years_68 = 2**31  # seconds: one more than Int's largest value
    world = replace(
        world,
        progressions=tuple(replace(p, time_spent_seconds=years_68) for p in world.progressions),
    )
    tenant = AbsorbTenant("absorb-key", "admin", "absorb-password", world)
    async with Emulator(absorb_tenants=[tenant]) as emulator:
        connector = AbsorbConnector(
            name="lms",
            base_url=emulator.vendor_base_url("absorb"),
            api_key=SecretStr(tenant.api_key),
            username=tenant.username,
            password=SecretStr(tenant.password),
        )
        registry = SourceRegistry([connector])
        await registry.open()
        try:
            query = "{ progressions(first: 5) { edges { node { id timeSpentSeconds } } } }"
            data, errors = await execute_in_process(query, registry)
        finally:
            await registry.close()
    nodes = [edge["node"] for edge in data["progressions"]["edges"]]
    assert len(nodes) == 5
    assert all(node["id"] and node["timeSpentSeconds"] is None for node in nodes)
    assert [e["path"] for e in errors] == [
        ["progressions", "edges", n, "node", "timeSpentSeconds"] for n in range(5)
    ]
    for error in errors:
        assert error["message"] == "Unexpected error; the server log has details."
        assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
        assert error["locations"] == [{"line": 1, "column": 46}]
    assert "Int cannot represent" in caplog.text  # the server log has the details
