"""``/metrics`` scraped from the real server around queries, vendor faults and refusals."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from connectors.sandbox import Emulator
from connectors.sandbox.control import EmulatorControl
from graph.app import COST_HEADER
from graph.clients import key_sha256
from graph.config import CacheSettings, ClientSettings, LimitsSettings, ServerSettings
from tests.cache.helpers import free_port
from tests.harness import GraphQLServer, demo_sources, run_server
from tests.observability.conftest import CLIENT_KEY, CURSOR_SECRET, assert_no_secret

KOMBO = "kombo-demo"
USERS = "query Everyone { users(first: 6) { edges { node { id source } } } }"
DEEP = "query Deep { users(first: 1) { edges { node { progressions { edges { node { revision { course { revisions { edges { node { id } } } } } } } } } } } }"  # noqa: E501

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


class Scrape:
    """One ``/metrics`` answer, parsed by prometheus-client's own parser."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.samples: Samples = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                key = (sample.name, frozenset(sample.labels.items()))
                self.samples[key] = sample.value

    def value(self, name: str, **labels: str) -> float:
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def labels_of(self, name: str) -> list[dict[str, str]]:
        return [dict(labels) for (sample, labels) in self.samples if sample == name]


async def scrape(server: GraphQLServer, url: str | None = None) -> Scrape:
    async with server.session.get(url or server.url + "/metrics") as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/plain")
        return Scrape(await response.text())


def moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)


async def ask(server: GraphQLServer, query: str) -> dict[str, Any]:
    _, body, _ = await server.send(query, headers={COST_HEADER: "1"})
    return body


def guarded_config(emulator: Emulator, **limits: Any) -> dict[str, Any]:
    return {
        "sources": demo_sources(emulator, max_attempts=3),
        "server": ServerSettings(request_timeout_seconds=3, cursor_secret=SecretStr(CURSOR_SECRET)),
        "clients": [ClientSettings(name="reporting", key_sha256=key_sha256(CLIENT_KEY))],
        "limits": LimitsSettings(max_depth=6, **limits),
    }


async def test_a_query_a_vendor_fault_and_a_refusal_move_their_counters(
    emulator: Emulator, control: EmulatorControl
) -> None:
    async with run_server(**guarded_config(emulator)) as anonymous:
        server = anonymous.with_key(CLIENT_KEY)
        before = await scrape(anonymous)  # open, like /healthz: no key needed

        body = await ask(server, USERS)
        assert "errors" not in body
        after_query = await scrape(anonymous)
        cost = body["extensions"]["cost"]
        requests = "lms_graph_graphql_requests_total"
        assert moved(before, after_query, requests, operation="Everyone", outcome="ok") == 1
        latency = "lms_graph_graphql_request_duration_seconds_count"
        assert moved(before, after_query, latency, operation="Everyone") == 1
        for source, calls in cost["actual"].items():
            spent = "lms_graph_cost_spent_calls_total"
            assert moved(before, after_query, spent, source=source) == calls
            estimated = "lms_graph_cost_estimated_calls_total"
            assert moved(before, after_query, estimated, source=source) == cost["estimated"][source]
        vendor = "lms_graph_vendor_requests_total"
        ok = {"source": KOMBO, "endpoint": "/lms/users", "status": "200"}
        assert moved(before, after_query, vendor, **ok) == cost["actual"][KOMBO] == 1

        # Kombo answers 503 to every try: three tries, two retries, the rest served.
        await control.add_fault(
            vendor="kombo",
            path="/lms/users",
            mode="status",
            status=503,
            retry_after="0",
            count=None,
        )
        body = await ask(server, USERS)
        await control.clear_faults()
        assert [e["extensions"]["code"] for e in body["errors"]] == ["SOURCE_UNAVAILABLE"]
        after_fault = await scrape(anonymous)
        assert moved(after_query, after_fault, requests, operation="Everyone", outcome="partial")
        failed = {**ok, "status": "503"}
        assert moved(after_query, after_fault, vendor, **failed) == 3
        assert moved(after_query, after_fault, vendor, **ok) == 0
        retries = "lms_graph_vendor_retries_total"
        why = {"source": KOMBO, "endpoint": "/lms/users", "reason": "SOURCE_UNAVAILABLE"}
        assert moved(after_query, after_fault, retries, **why) == 2
        assert after_fault.value("lms_graph_breaker_failures", source=KOMBO) == 3
        closed = {"source": KOMBO, "state": "CLOSED"}
        assert after_fault.value("lms_graph_breaker_state", **closed) == 1

        # Refused before execution: counted by code, no vendor call.
        status, body, _ = await server.send(DEEP)
        assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_DEEP"
        status, body, _ = await anonymous.send(USERS)
        assert (status, body["errors"][0]["extensions"]["code"]) == (401, "UNAUTHENTICATED")
        after_refusals = await scrape(anonymous)
        refusals = "lms_graph_refusals_total"
        assert moved(after_fault, after_refusals, refusals, code="QUERY_TOO_DEEP") == 1
        assert moved(after_fault, after_refusals, refusals, code="UNAUTHENTICATED") == 1
        assert moved(after_fault, after_refusals, requests, operation="Deep", outcome="refused")
        for labels in after_refusals.labels_of(vendor):
            assert moved(after_fault, after_refusals, vendor, **labels) == 0

    assert_no_secret(after_refusals.text)
    assert "reporting" not in after_refusals.text  # requests are not labelled by client


async def test_an_open_breaker_shows_per_source(
    emulator: Emulator, control: EmulatorControl
) -> None:
    sources = demo_sources(emulator, max_attempts=1, breaker_failures=2)
    async with run_server(sources) as server:
        await control.add_fault(
            vendor="kombo", path="/lms/users", mode="status", status=500, count=None
        )
        for _ in range(2):
            await ask(server, USERS)
        metrics = await scrape(server)
    state = "lms_graph_breaker_state"
    assert metrics.value(state, source=KOMBO, state="OPEN") == 1
    assert metrics.value(state, source=KOMBO, state="CLOSED") == 0
    assert metrics.value(state, source="absorb-demo", state="CLOSED") == 1


async def test_operation_names_are_capped_and_the_rest_is_other(emulator: Emulator) -> None:
    server_settings = ServerSettings(metrics_max_operations=2)
    async with run_server(demo_sources(emulator), server=server_settings) as server:
        for name in ["First", "Second", "Third", "First"]:
            await ask(server, f"query {name} {{ sources {{ name }} }}")
        await ask(server, "{ sources { name } }")
        # Names no document defines take no label of their own.
        for query in ["query First { sources { name } }", "query Fifth { sources "]:
            payload = {"query": query, "operationName": "Fourth"}
            async with server.session.post(server.url + "/graphql", json=payload) as response:
                assert "errors" in await response.json()
        metrics = await scrape(server)
    counted = {
        (labels["operation"], labels["outcome"]): metrics.value(
            "lms_graph_graphql_requests_total", **labels
        )
        for labels in metrics.labels_of("lms_graph_graphql_requests_total")
    }
    assert counted == {
        ("First", "ok"): 2,
        ("Second", "ok"): 1,
        ("other", "ok"): 1,
        ("anonymous", "ok"): 1,
        ("anonymous", "refused"): 2,
    }


async def test_cache_hits_and_misses_by_kind(emulator: Emulator) -> None:
    cache = CacheSettings(backend="memory", responses=False)  # the entity cache alone
    async with run_server(demo_sources(emulator), cache=cache) as server:
        await ask(server, USERS)
        first = await scrape(server)
        await ask(server, USERS)
        second = await scrape(server)
    lists = {"kind": "users_list"}
    assert first.value("lms_graph_cache_misses_total", **lists) == 4  # one page per source
    assert first.value("lms_graph_cache_hits_total", **lists) == 0
    assert moved(first, second, "lms_graph_cache_hits_total", **lists) == 4
    assert moved(first, second, "lms_graph_cache_misses_total", **lists) == 0
    assert moved(first, second, "lms_graph_vendor_requests_total", **_kombo_users()) == 0


async def test_a_request_whose_client_left_counts_as_cancelled(
    emulator: Emulator, control: EmulatorControl
) -> None:
    async with run_server(demo_sources(emulator)) as server:
        await control.add_fault(vendor="kombo", path="/lms/users", mode="hang", count=None)
        payload = {"query": USERS}
        with contextlib.suppress(TimeoutError):
            async with server.session.post(
                server.url + "/graphql", json=payload, timeout=aiohttp.ClientTimeout(total=0.3)
            ) as response:
                await response.read()
        cancelled = {"operation": "Everyone", "outcome": "cancelled"}
        deadline = time.monotonic() + 5
        while (await scrape(server)).value("lms_graph_graphql_requests_total", **cancelled) != 1:
            assert time.monotonic() < deadline, "the cancelled request was not counted"
            await asyncio.sleep(0.02)
        await control.clear_faults()


def _kombo_users() -> dict[str, str]:
    return {"source": KOMBO, "endpoint": "/lms/users", "status": "200"}


async def test_metrics_port_serves_them_alone(emulator: Emulator) -> None:
    port = free_port()
    settings = ServerSettings(metrics_port=port)
    async with run_server(demo_sources(emulator), server=settings) as server:
        async with server.session.get(server.url + "/metrics") as response:
            assert response.status == 404
        await ask(server, USERS)
        metrics = await scrape(server, f"http://127.0.0.1:{port}/metrics")
        assert metrics.value("lms_graph_vendor_requests_total", **_kombo_users()) == 1
    # Stopped with the server: nothing listens there any more (SO_REUSEADDR: the scrape's
    # connection may wait in TIME_WAIT, which only a listener would conflict with).
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen()


async def test_metrics_can_be_turned_off(emulator: Emulator) -> None:
    off = ServerSettings(metrics=False)
    async with run_server(demo_sources(emulator), server=off) as server:
        status, _, _ = await server.send("{ sources { name } }")
        async with server.session.get(server.url + "/metrics") as response:
            assert (status, response.status) == (200, 404)


async def test_a_vendor_id_never_reaches_a_label(emulator: Emulator) -> None:
    """Look-ups by ID go to ``/v1/users/<id>`` at Skilljar: the label says ``{id}``."""
    async with run_server(demo_sources(emulator)) as server:
        data = await server.data(
            '{ users(first: 3, source: "skilljar-demo") { edges { node { id } } } }'
        )
        ids = [edge["node"]["id"] for edge in data["users"]["edges"]]
        nodes = " ".join(f'n{i}: node(id: "{node_id}") {{ id }}' for i, node_id in enumerate(ids))
        await server.data(f"{{ {nodes} }}")
        metrics = await scrape(server)
    endpoints = {
        labels["endpoint"]
        for labels in metrics.labels_of("lms_graph_vendor_requests_total")
        if labels["source"] == "skilljar-demo"
    }
    assert "/v1/users/{id}" in endpoints
    assert all(set(e.split("/")) <= _words() for e in endpoints), endpoints


def _words() -> set[str]:
    from connectors.observe import ENDPOINT_SEGMENTS

    return {"", "{id}", *ENDPOINT_SEGMENTS}


async def test_a_client_key_sent_as_an_operation_name_is_not_a_label(emulator: Emulator) -> None:
    """Operation names are the client's: one that is not a GraphQL name is ``other``."""
    async with run_server(demo_sources(emulator)) as server:
        payload = {"query": "{ sources { name } }", "operationName": CLIENT_KEY}
        async with server.session.post(server.url + "/graphql", json=payload) as response:
            await response.read()
        metrics = await scrape(server)
    assert_no_secret(metrics.text)


async def test_scrape_is_prometheus_text(emulator: Emulator) -> None:
    async with run_server(demo_sources(emulator)) as server:
        text = (await scrape(server)).text
    assert "# TYPE lms_graph_graphql_requests_total counter" in text
    assert "# TYPE lms_graph_graphql_request_duration_seconds histogram" in text


async def test_a_response_cache_hit_counts_as_its_operation_without_a_vendor_call(
    emulator: Emulator,
) -> None:
    query = USERS
    async with run_server(demo_sources(emulator), cache=CacheSettings(backend="memory")) as server:
        before = await scrape(server)
        first = await ask(server, query)
        middle = await scrape(server)
        second = await ask(server, query)
        after = await scrape(server)
    assert second["data"] == first["data"]
    response = {"kind": "response"}
    assert moved(before, middle, "lms_graph_cache_misses_total", **response) == 1
    assert moved(before, middle, "lms_graph_cache_hits_total", **response) == 0
    assert moved(middle, after, "lms_graph_cache_hits_total", **response) == 1
    assert moved(middle, after, "lms_graph_cache_misses_total", **response) == 0
    learners = {"operation": "Everyone", "outcome": "ok"}
    assert moved(before, middle, "lms_graph_graphql_requests_total", **learners) == 1
    assert moved(middle, after, "lms_graph_graphql_requests_total", **learners) == 1
    assert moved(middle, after, "lms_graph_cache_hits_total", kind="users_list") == 0
    assert moved(middle, after, "lms_graph_vendor_requests_total", **_kombo_users()) == 0
