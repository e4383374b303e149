"""OpenTelemetry spans of the real server, caught by the SDK's in-memory exporter."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

import aiohttp
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from pydantic import SecretStr

from connectors.sandbox import Emulator
from connectors.sandbox.control import EmulatorControl
from graph.app import COST_HEADER
from graph.clients import key_sha256
from graph.config import CacheSettings, ClientSettings, ServerSettings, TracingSettings
from tests.harness import demo_sources, run_server
from tests.observability.conftest import CLIENT_KEY, CURSOR_SECRET, assert_no_secret

QUERY = """
query Learners {
  users(first: 4) { edges { node { id email progressions(first: 2) { edges { node { id } } } } } }
}
"""
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


def operation_spans(spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    return [s for s in spans if s.kind is SpanKind.SERVER]


def vendor_spans(spans: Sequence[ReadableSpan]) -> list[ReadableSpan]:
    return [s for s in spans if s.kind is SpanKind.CLIENT]


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})


async def test_one_operation_span_and_one_span_per_vendor_call(emulator: Emulator) -> None:
    exporter = InMemorySpanExporter()
    settings = {
        "server": ServerSettings(cursor_secret=SecretStr(CURSOR_SECRET)),
        "clients": [ClientSettings(name="reporting", key_sha256=key_sha256(CLIENT_KEY))],
        "tracing": TracingSettings(service_name="lms-graph-test"),
    }
    async with run_server(demo_sources(emulator), span_exporter=exporter, **settings) as server:
        headers = {"traceparent": TRACEPARENT, COST_HEADER: "1"}
        _, body, _ = await server.with_key(CLIENT_KEY).send(QUERY, headers=headers)
    assert "errors" not in body
    spans = exporter.get_finished_spans()

    (operation,) = operation_spans(spans)
    assert operation.name == "query Learners"
    assert operation.context.trace_id == int(TRACE_ID, 16)
    assert operation.parent is not None
    assert operation.parent.span_id == int(PARENT_ID, 16)
    assert operation.resource.attributes["service.name"] == "lms-graph-test"
    assert attrs(operation) == {
        "component": "graphql",
        "graphql.operation.name": "Learners",
        "graphql.operation.type": "query",
        "lms_graph.client": "reporting",
        "lms_graph.outcome": "ok",
        "lms_graph.vendor_calls": sum(body["extensions"]["cost"]["actual"].values()),
    }

    calls = vendor_spans(spans)
    assert len(calls) == sum(body["extensions"]["cost"]["actual"].values())
    by_id = {span.context.span_id: span for span in spans}
    for call in calls:
        assert call.context.trace_id == int(TRACE_ID, 16)
        parent = by_id.get(call.parent.span_id) if call.parent else None
        found = attrs(call)
        if found["url.template"] == "/authenticate":
            # Absorb's login runs inside the Absorb call that needed the token.
            assert parent is not None
            assert attrs(parent)["lms_graph.source"] == "absorb-demo"
        else:
            assert parent is operation
        assert found["http.response.status_code"] == 200
        assert found["lms_graph.retry_count"] == 0
        assert found["lms_graph.cache"] == "off"
        assert found["lms_graph.source"] in body["extensions"]["cost"]["actual"]
        assert (
            call.name
            == f"{found['http.request.method']} {found['lms_graph.source']} "
            + (found["url.template"])
        )
    per_source = {
        source: sum(1 for c in calls if attrs(c)["lms_graph.source"] == source)
        for source in body["extensions"]["cost"]["actual"]
    }
    assert per_source == body["extensions"]["cost"]["actual"]
    # Parsing and validation hang under the operation; no span per resolver.
    others = [s for s in spans if s.kind is SpanKind.INTERNAL]
    assert sorted(s.name for s in others) == ["GraphQL Parsing", "GraphQL Validation"]
    assert all(s.parent and s.parent.span_id == operation.context.span_id for s in others)

    dump = "\n".join(span.to_json() for span in spans)
    assert_no_secret(dump)
    emails = [edge["node"]["email"] for edge in body["data"]["users"]["edges"]]
    assert not [email for email in emails if email in dump]  # no query text, no look-up value


async def test_retries_and_failures_are_on_the_vendor_spans(
    emulator: Emulator, control: EmulatorControl
) -> None:
    exporter = InMemorySpanExporter()
    sources = demo_sources(emulator, max_attempts=3)
    async with run_server(sources, span_exporter=exporter, tracing=TracingSettings()) as server:
        await control.add_fault(
            vendor="kombo",
            path="/lms/users",
            mode="status",
            status=503,
            retry_after="0",
            count=None,
        )
        body = await server.post("query Users { users(first: 3) { edges { node { id } } } }")
    assert body["errors"][0]["extensions"]["code"] == "SOURCE_UNAVAILABLE"
    spans = exporter.get_finished_spans()
    kombo = [s for s in vendor_spans(spans) if attrs(s)["lms_graph.source"] == "kombo-demo"]
    assert [attrs(s)["lms_graph.retry_count"] for s in kombo] == [0, 1, 2]
    for span in kombo:
        assert attrs(span)["http.response.status_code"] == 503
        assert attrs(span)["error.type"] == "SOURCE_UNAVAILABLE"
        assert span.status.status_code is StatusCode.ERROR
    (operation,) = operation_spans(spans)
    assert attrs(operation)["lms_graph.outcome"] == "partial"
    assert attrs(operation)["lms_graph.failed_sources"] == ("kombo-demo",)


async def test_a_request_whose_client_left_ends_its_spans(
    emulator: Emulator, control: EmulatorControl
) -> None:
    exporter = InMemorySpanExporter()
    async with run_server(
        demo_sources(emulator), span_exporter=exporter, tracing=TracingSettings()
    ) as server:
        await control.add_fault(vendor="kombo", path="/lms/users", mode="hang", count=None)
        query = {"query": "query Gone { users(first: 3) { edges { node { id } } } }"}
        with contextlib.suppress(TimeoutError):
            async with server.session.post(
                server.url + "/graphql", json=query, timeout=aiohttp.ClientTimeout(total=0.3)
            ) as response:
                await response.read()
        deadline = time.monotonic() + 5
        while not operation_spans(exporter.get_finished_spans()):
            assert time.monotonic() < deadline, "the operation span never ended"
            await asyncio.sleep(0.02)
        await control.clear_faults()
    spans = exporter.get_finished_spans()
    (operation,) = operation_spans(spans)
    assert operation.name == "query Gone"
    assert attrs(operation)["lms_graph.outcome"] == "cancelled"
    assert operation.status.status_code is StatusCode.ERROR
    (kombo,) = [s for s in vendor_spans(spans) if attrs(s)["lms_graph.source"] == "kombo-demo"]
    assert attrs(kombo)["error.type"] == "cancelled"
    assert "http.response.status_code" not in attrs(kombo)


async def test_a_vendor_call_through_the_cache_is_a_miss_and_a_hit_makes_none(
    emulator: Emulator,
) -> None:
    exporter = InMemorySpanExporter()
    cache = CacheSettings(backend="memory", responses=False)  # the entity cache's hit
    query = "{ users(first: 3) { edges { node { id } } } }"
    async with run_server(
        demo_sources(emulator), cache=cache, span_exporter=exporter, tracing=TracingSettings()
    ) as server:
        await server.data(query)
        first = exporter.get_finished_spans()
        exporter.clear()
        await server.data(query)
        second = exporter.get_finished_spans()
    assert {attrs(s)["lms_graph.cache"] for s in vendor_spans(first)} == {"miss"}
    assert len(operation_spans(second)) == 1
    assert vendor_spans(second) == []


async def test_without_a_traceparent_the_operation_starts_a_trace(emulator: Emulator) -> None:
    exporter = InMemorySpanExporter()
    never = TracingSettings(sample_ratio=0)
    async with run_server(demo_sources(emulator), span_exporter=exporter, tracing=never) as server:
        await server.data("{ sources { name } }")
        assert exporter.get_finished_spans() == ()  # sampled out
        # A caller's sampled trace is kept whatever the ratio.
        _, _body, _ = await server.send(
            "{ sources { name } }", headers={"traceparent": TRACEPARENT}
        )
    (operation,) = operation_spans(exporter.get_finished_spans())
    assert operation.context.trace_id == int(TRACE_ID, 16)
    assert operation.name == "query"


async def test_the_subgraph_traces_its_entities_too(emulator: Emulator) -> None:
    """With ``[server] federation``, ``_entities`` is an operation like any other."""
    exporter = InMemorySpanExporter()
    subgraph = ServerSettings(federation=True)
    async with run_server(
        demo_sources(emulator), span_exporter=exporter, tracing=TracingSettings(), server=subgraph
    ) as server:
        users = await server.data("{ users(first: 2) { edges { node { id } } } }")
        exporter.clear()
        ids = [edge["node"]["id"] for edge in users["users"]["edges"]]
        query = "query Entities($r: [_Any!]!) { _entities(representations: $r) { __typename } }"
        await server.data(query, {"r": [{"__typename": "User", "id": i} for i in ids]})
    spans = exporter.get_finished_spans()
    (operation,) = operation_spans(spans)
    assert operation.name == "query Entities"
    assert vendor_spans(spans)
    assert all(
        s.parent and s.parent.span_id == operation.context.span_id
        for s in vendor_spans(spans)
        if attrs(s)["url.template"] != "/authenticate"
    )


def test_the_base_install_needs_no_opentelemetry() -> None:
    """Without ``[tracing]`` the server is built with OpenTelemetry unimportable (as without
    the extra) and never loads the tracing module. (redis-py imports OpenTelemetry on its
    own when it happens to be installed, so ``sys.modules`` alone would prove nothing.)"""
    script = """
import sys
sys.modules["opentelemetry"] = None  # any import of it now fails
from graph.app import create_app
from graph.config import demo_config
create_app(demo_config())
print("graph.tracing" in sys.modules, "strawberry.extensions.tracing" in sys.modules)
"""
    run = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert run.stdout.split() == ["False", "False"]


def test_tracing_without_the_extra_is_a_config_error() -> None:
    script = """
import sys
sys.modules["opentelemetry"] = None  # as if lms-graph[otel] were not installed
from graph.app import create_app
from graph.config import ConfigError, TracingSettings, demo_config
try:
    create_app(demo_config().model_copy(update={"tracing": TracingSettings()}))
except ConfigError as exc:
    print(exc)
"""
    run = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert "pip install 'lms-graph[otel]'" in run.stdout
