"""``[tracing]`` as configured by users: ``lms-graph serve`` exports its spans over
OTLP/HTTP to a collector, here a loopback receiver that decodes them with the
OpenTelemetry protobuf definitions."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from graph.config import DEMO_CONFIG
from tests.cache.helpers import free_port
from tests.observability.conftest import assert_no_secret, wait_until_healthy

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
TRACEPARENT = f"00-{TRACE_ID}-b7ad6b7169203331-01"


async def _collector(spans: list[Span], raw: list[bytes]) -> tuple[web.AppRunner, int]:
    async def export(request: web.Request) -> web.Response:
        body = await request.read()
        raw.append(body)
        message = ExportTraceServiceRequest.FromString(body)
        for resource in message.resource_spans:
            for scope in resource.scope_spans:
                spans.extend(scope.spans)
        answer = ExportTraceServiceResponse().SerializeToString()
        return web.Response(body=answer, content_type="application/x-protobuf")

    app = web.Application()
    app.router.add_post("/v1/traces", export)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port: int = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, port


async def test_serve_exports_its_spans_over_otlp(tmp_path: Path) -> None:
    spans: list[Span] = []
    raw: list[bytes] = []
    runner, collector_port = await _collector(spans, raw)
    emulator_port, port = free_port(), free_port()
    tracing = (
        "[tracing]\n"
        f'endpoint = "http://127.0.0.1:{collector_port}/v1/traces"\n'
        'service_name = "lms-graph-otlp-test"\n\n'
    )
    config = tmp_path / "traced.toml"
    text = DEMO_CONFIG.replace("8700", str(emulator_port))
    config.write_text(text.replace("[[sources]]", tracing + "[[sources]]", 1), encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "graph.cli", "serve", "--config", str(config), "--port", str(port),
        "--log-level", "warning", stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with aiohttp.ClientSession() as session:
            await wait_until_healthy(f"http://127.0.0.1:{port}")
            payload = {"query": "query Two { users(first: 2) { edges { node { id } } } }"}
            async with session.post(
                f"http://127.0.0.1:{port}/graphql",
                json=payload,
                headers={"traceparent": TRACEPARENT},
            ) as response:
                assert "errors" not in await response.json()
    finally:
        process.send_signal(signal.SIGINT)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=15)
        await runner.cleanup()
    assert process.returncode == 0, stderr.decode()

    # The batch is flushed on shutdown at the latest.
    (operation,) = [s for s in spans if s.kind == Span.SPAN_KIND_SERVER]
    assert operation.name == "query Two"
    assert operation.trace_id.hex() == TRACE_ID
    vendor = [s for s in spans if s.kind == Span.SPAN_KIND_CLIENT]
    assert {s.trace_id.hex() for s in vendor} == {TRACE_ID}
    assert len(vendor) >= 4  # a page per source, and Absorb's login
    assert b"lms-graph-otlp-test" in b"".join(raw)
    assert_no_secret(b"".join(raw).decode("latin-1"))
