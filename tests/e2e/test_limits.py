"""[limits] through the real server: just over each limit is refused with its code and
no vendor call; just under runs. The emulator's request log counts the vendor calls."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from graphql import get_introspection_query

from connectors.sandbox import Emulator
from graph.config import LimitsSettings
from tests.harness import (
    CACHES,
    CANONICAL_QUERY,
    DEMO_SOURCES,
    GraphQLServer,
    demo_sources,
    run_server,
)

SKILLJAR = DEMO_SOURCES["skilljar"]
KOMBO_JSON = json.dumps(DEMO_SOURCES["kombo"])
LIMITS = LimitsSettings(
    max_body_bytes=2_000,
    max_tokens=120,
    max_fields=20,
    max_depth=6,
    max_aliases=2,
    max_root_fields=2,
    max_errors=3,
    max_cost=11,
)


@pytest.fixture
async def limited(everywhere: Emulator) -> AsyncIterator[GraphQLServer]:
    async with run_server(demo_sources(everywhere, max_attempts=1), limits=LIMITS) as running:
        yield running


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


async def refused(
    server: GraphQLServer, emulator: Emulator, query: str, code: str
) -> dict[str, Any]:
    emulator.clear_requests()
    status, body, _ = await server.send(query)
    assert status == 200, body
    assert codes(body) == [code], body
    assert body.get("data") is None  # a request error: no data entry
    assert emulator.count() == 0, "a refused query made vendor calls"
    return body


async def runs(server: GraphQLServer, emulator: Emulator, query: str) -> dict[str, Any]:
    emulator.clear_requests()
    status, body, _ = await server.send(query)
    assert status == 200, body
    assert "errors" not in body, body["errors"]
    assert emulator.count() > 0, "the query should have reached the vendors"
    return body


def one_user(inner: str, first: int = 1) -> str:
    return f"{{ users(first: {first}) {{ edges {{ node {{ {inner} }} }} }} }}"


async def test_depth(limited: GraphQLServer, everywhere: Emulator) -> None:
    # users > edges > node > progressions > edges > node: depth 6
    under = one_user("progressions(first: 1) { edges { node { id } } }")
    over = one_user("progressions(first: 1) { edges { node { revision { id } } } }")
    await runs(limited, everywhere, under)
    body = await refused(limited, everywhere, over, "QUERY_TOO_DEEP")
    assert "depth of 6" in body["errors"][0]["message"]


async def test_nesting_beyond_the_parser_counts_as_depth(everywhere: Emulator) -> None:
    deep = "{ " + "a { " * 1500 + "b" + " }" * 1500 + " }"
    async with run_server(demo_sources(everywhere, max_attempts=1)) as server:
        await refused(server, everywhere, deep, "QUERY_TOO_DEEP")


async def test_aliases(limited: GraphQLServer, everywhere: Emulator) -> None:
    await runs(limited, everywhere, one_user("a: id b: id"))
    await refused(limited, everywhere, one_user("a: id b: id c: id"), "TOO_MANY_ALIASES")


async def test_root_fields(limited: GraphQLServer, everywhere: Emulator) -> None:
    two = "users(first: 1) { totalCount } courses(first: 1) { totalCount }"
    await runs(limited, everywhere, f"{{ {two} }}")
    three = f"{{ {two} skills(first: 1) {{ totalCount }} }}"
    await refused(limited, everywhere, three, "TOO_MANY_ROOT_FIELDS")
    # fragments count where they are spread
    spread = f"{{ ...F skills(first: 1) {{ totalCount }} }} fragment F on Query {{ {two} }}"
    await refused(limited, everywhere, spread, "TOO_MANY_ROOT_FIELDS")


async def test_tokens(limited: GraphQLServer, everywhere: Emulator) -> None:
    def query(names: int) -> str:
        return (
            f"{{ users(first: 1, sources: [{' '.join([KOMBO_JSON] * names)}]) {{ totalCount }} }}"
        )

    # `{ users ( first : 1 sources : [` … `] ) { totalCount } }` and the end: 15 tokens
    await runs(limited, everywhere, query(LIMITS.max_tokens - 15))
    body = await refused(limited, everywhere, query(LIMITS.max_tokens - 14), "TOO_MANY_TOKENS")
    assert f"more than {LIMITS.max_tokens} tokens" in body["errors"][0]["message"]


async def test_no_step_lexes_past_the_token_limit(
    limited: GraphQLServer, everywhere: Emulator
) -> None:
    """Two operations and no operationName: counting them must stop at the token limit
    too, so the refusal is the token limit's, not a full parse's."""
    padding = " ".join([KOMBO_JSON] * LIMITS.max_tokens)
    two = f"query A {{ users(sources: [{padding}]) {{ totalCount }} }} query B {{ __typename }}"
    await refused(limited, everywhere, two, "TOO_MANY_TOKENS")
    status, body, _ = await limited.send("query A { __typename } query B { __typename }")
    assert status == 400
    assert codes(body) == ["OPERATION_NAME_REQUIRED"]


async def test_fields_after_fragments(limited: GraphQLServer, everywhere: Emulator) -> None:
    """users, edges, node and twice the fragment's fields: spreads count where used."""
    eight = "id email firstName lastName source remoteId createdAt updatedAt"
    under = one_user("...U ...U status") + f" fragment U on User {{ {eight} }}"  # 3 + 16 + 1
    over = one_user("...U ...U") + f" fragment U on User {{ {eight} status }}"  # 3 + 18
    await runs(limited, everywhere, under)
    body = await refused(limited, everywhere, over, "TOO_MANY_FIELDS")
    assert "21 fields" in body["errors"][0]["message"]


async def test_fragment_bombs_are_refused_at_once(everywhere: Emulator) -> None:
    """40 fragments each spreading the next twice: 2^40 fields in 2 KB. Refused before
    the depth and alias rules, which expand every spread, get to it."""
    levels = 40
    fragments = "".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}\n" for i in range(levels)
    )
    bomb = "{ ...F0 }\n" + fragments + f"fragment F{levels} on Query {{ __typename }}"
    async with run_server(demo_sources(everywhere, max_attempts=1)) as server:
        body = await refused(server, everywhere, bomb, "TOO_MANY_FIELDS")
        assert str(2**levels) in body["errors"][0]["message"]


async def test_cost_in_vendor_calls(limited: GraphQLServer, everywhere: Emulator) -> None:
    """Skilljar has no batch look-up: 1 users page + one progress call per user."""

    def query(first: int) -> str:
        return (
            f'{{ users(first: {first}, source: "{SKILLJAR}") {{ edges {{ node {{ '
            "progressions(first: 1) { edges { node { id } } } } } } }"
        )

    body = await refused(limited, everywhere, query(11), "QUERY_TOO_COSTLY")
    error = body["errors"][0]
    assert error["extensions"]["cost"] == {SKILLJAR: 12}
    assert error["extensions"]["maxCost"] == 11
    assert SKILLJAR in error["message"]
    await runs(limited, everywhere, query(10))
    assert everywhere.count("skilljar") == 11


async def test_body_size(limited: GraphQLServer, everywhere: Emulator) -> None:
    def payload(size: int) -> bytes:
        query = one_user("id")
        frame = json.dumps({"query": query + " #"}).encode()
        padded = query + " #" + "x" * (size - len(frame))
        data = json.dumps({"query": padded}).encode()
        assert len(data) == size
        return data

    headers = {"Content-Type": "application/json"}
    for size, status in ((LIMITS.max_body_bytes, 200), (LIMITS.max_body_bytes + 1, 413)):
        everywhere.clear_requests()
        async with limited.session.post(
            limited.url + "/graphql", data=payload(size), headers=headers
        ) as response:
            body = await response.json()
        assert response.status == status, body
        if status == 413:
            assert codes(body) == ["REQUEST_TOO_LARGE"]
            assert everywhere.count() == 0
        else:
            assert "errors" not in body

    async def chunked() -> AsyncIterator[bytes]:
        # no Content-Length: counted while it streams, refused once past the cap
        yield b'{"query": "{ sources { name } }", "pad": "'
        for _ in range(100):
            yield b"x" * 100
        yield b'"}'

    async with limited.session.post(
        limited.url + "/graphql", data=chunked(), headers=headers
    ) as response:
        assert response.status == 413
        assert codes(await response.json()) == ["REQUEST_TOO_LARGE"]


async def test_errors_per_response(limited: GraphQLServer) -> None:
    def query(n: int) -> str:
        return f"{{ nodes(ids: {json.dumps(['bad'] * n)}) {{ id }} }}"

    body = await limited.post(query(LIMITS.max_errors))
    assert codes(body) == ["INVALID_ID"] * LIMITS.max_errors
    body = await limited.post(query(LIMITS.max_errors + 5))
    assert codes(body) == ["INVALID_ID"] * LIMITS.max_errors + ["TOO_MANY_ERRORS"]
    assert body["errors"][-1]["extensions"]["leftOut"] == 5
    assert body["data"]["nodes"] == [None] * (LIMITS.max_errors + 5)


async def test_defaults_serve_the_canonical_query_and_graphiql(everywhere: Emulator) -> None:
    async with run_server(demo_sources(everywhere, max_attempts=1)) as server:
        data = await server.data(CANONICAL_QUERY, {"first": 50})
        assert len(data["users"]["edges"]) == 50
        introspection = await server.data(get_introspection_query(descriptions=True))
        assert introspection["__schema"]["queryType"]["name"] == "Query"


async def test_cost_reported_with_calls_made(everywhere: Emulator) -> None:
    sources = demo_sources(everywhere, max_attempts=1)
    async with run_server(sources, CACHES["memory"]) as server:  # the repeat is cached
        status, body, _ = await server.send(CANONICAL_QUERY, {"first": 50})
        assert status == 200
        assert "cost" not in body.get("extensions", {}), "only when asked"
        headers = {"X-LMS-Graph-Cost": "1"}
        everywhere.clear_requests()
        variables = {"first": 20}
        _, body, _ = await server.send(CANONICAL_QUERY, variables, headers=headers)
        cost = body["extensions"]["cost"]
        vendors = {source: kind for kind, source in DEMO_SOURCES.items()}
        made = {source: everywhere.count(vendors[source]) for source in cost["actual"]}
        assert cost["actual"] == made
        assert set(cost["estimated"]) == set(DEMO_SOURCES.values())
        for source, calls in cost["actual"].items():
            assert calls <= cost["estimated"][source], source
        # the same query again: every answer is cached, so no call is made
        _, body, _ = await server.send(CANONICAL_QUERY, variables, headers=headers)
        assert body["extensions"]["cost"]["actual"] == {}
        assert body["extensions"]["cost"]["estimated"] == cost["estimated"]


async def test_cost_reported_for_every_request_when_configured(everywhere: Emulator) -> None:
    limits = LimitsSettings(report_cost=True)
    async with run_server(demo_sources(everywhere, max_attempts=1), limits=limits) as server:
        query = f'{{ users(first: 3, source: "{SKILLJAR}") {{ totalCount }} }}'
        _, body, _ = await server.send(query)
        assert body["extensions"]["cost"]["estimated"] == {SKILLJAR: 1}
        assert body["extensions"]["cost"]["actual"] == {SKILLJAR: 1}


async def test_healthz_answers_while_abusive_queries_are_refused(everywhere: Emulator) -> None:
    """4,000 aliases of a failing field (128 KB): refused by the token limit at once,
    while /healthz keeps answering. Before the limits it took ~20 s of CPU."""
    abusive = "{ " + " ".join(f'a{i}: node(id: "bad") {{ id }}' for i in range(4000)) + " }"
    async with run_server(demo_sources(everywhere, max_attempts=1)) as server:

        async def abuse() -> list[str]:
            _, body, _ = await server.send(abusive)
            return codes(body)

        async def health() -> float:
            started = time.perf_counter()
            async with server.session.get(server.url + "/healthz") as response:
                assert response.status == 200
            return time.perf_counter() - started

        everywhere.clear_requests()
        attacks = [asyncio.create_task(abuse()) for _ in range(4)]
        latencies = [await health() for _ in range(10)]
        assert [await attack for attack in attacks] == [["TOO_MANY_TOKENS"]] * 4
        assert everywhere.count() == 0
        # Generous bounds for a loaded machine; bench/limits.py prints the real figures.
        assert statistics.median(latencies) < 0.1, latencies
        assert max(latencies) < 1.0, latencies


async def test_a_document_seen_before_is_still_priced_per_request(
    limited: GraphQLServer, everywhere: Emulator
) -> None:
    """The server keeps a validated document; its cost depends on the variables, so
    each request is priced again."""
    query = (
        f'query Cost($first: Int!) {{ users(first: $first, source: "{SKILLJAR}") {{ '
        "edges { node { progressions(first: 1) { edges { node { id } } } } } } }"
    )
    for first, code in [(10, None), (11, "QUERY_TOO_COSTLY"), (10, None), (11, "QUERY_TOO_COSTLY")]:
        everywhere.clear_requests()
        status, body, _ = await limited.send(query, {"first": first})
        assert status == 200, body
        assert codes(body) == ([code] if code else []), body
        assert everywhere.count() == (0 if code else 11)


async def test_a_refused_document_is_refused_every_time(
    limited: GraphQLServer, everywhere: Emulator
) -> None:
    deep = one_user("progressions { edges { node { revision { course { id } } } } }")
    for _ in range(3):
        await refused(limited, everywhere, deep, "QUERY_TOO_DEEP")


async def test_each_operation_of_a_kept_document_runs_by_its_name(
    limited: GraphQLServer, everywhere: Emulator
) -> None:
    document = f"query A {{ {one_user('id')[2:-2]} }} query B {{ sources {{ name }} }}"
    for _ in range(2):
        a = await limited.session.post(
            limited.url + "/graphql", json={"query": document, "operationName": "A"}
        )
        assert "users" in (await a.json())["data"]
        b = await limited.session.post(
            limited.url + "/graphql", json={"query": document, "operationName": "B"}
        )
        assert "sources" in (await b.json())["data"]
        for name, code in [(None, "OPERATION_NAME_REQUIRED"), ("C", "UNKNOWN_OPERATION")]:
            refused_answer = await limited.session.post(
                limited.url + "/graphql", json={"query": document, "operationName": name}
            )
            assert refused_answer.status == 400
            assert codes(await refused_answer.json()) == [code]
