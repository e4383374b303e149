"""What metrics and tracing cost per request: the canonical query, cache off, against the
emulator (no latency), on three fresh servers: ``[server] metrics = false`` and no
tracing; metrics on (the default); metrics and ``[tracing]`` (every span kept, exported
to memory).

Prints the median wall time and CPU time per request (the process's: the server, the
emulator and the client share it, the same work in every configuration, so the CPU
difference is the server's; steadier than the wall clock on a shared machine), the vendor
calls per request and the spans per request. It first checks it measures what it says:
every configuration makes the same vendor calls with the same answer, the metrics server
counted every request, the one without metrics serves no ``/metrics``, and the traced one
made one operation span per request and one span per vendor call.

    python -m bench.observability [--users 20] [--runs 30]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from bench.checks import BenchError, require_cold, require_same
from connectors.sandbox import demo_emulator
from graph.app import COST_HEADER
from graph.config import ServerSettings, TracingSettings
from tests.harness import CANONICAL_QUERY, demo_sources, run_server

CONFIGS: dict[str, dict[str, Any]] = {
    "metrics off, no tracing": {"server": ServerSettings(metrics=False)},
    "metrics (default)": {},
    "metrics + tracing": {"tracing": TracingSettings()},
}


async def measure(label: str, users: int, runs: int) -> tuple[float, float, int, int, Any]:
    exporter = InMemorySpanExporter()
    async with demo_emulator(seed=7, users=200) as emulator:
        settings = CONFIGS[label]
        async with run_server(demo_sources(emulator), span_exporter=exporter, **settings) as server:
            variables = {"first": users}
            await server.send(CANONICAL_QUERY, variables)  # warm-up: imports, first-use caches
            exporter.clear()
            seconds, cpu, calls, answer = [], [], 0, None
            for _ in range(runs):
                started, cpu_started = time.perf_counter(), time.process_time()
                status, body, _ = await server.send(
                    CANONICAL_QUERY, variables, headers={COST_HEADER: "1"}
                )
                seconds.append(time.perf_counter() - started)
                cpu.append(time.process_time() - cpu_started)
                if status != 200 or "errors" in body:
                    raise BenchError(f"{label}: the query failed: {body.get('errors')}")
                calls += sum(body["extensions"]["cost"]["actual"].values())
                answer = body["data"]
            async with server.session.get(server.url + "/metrics") as response:
                scrape = await response.text() if response.status == 200 else None
    spans = exporter.get_finished_spans()
    _check(label, runs, calls, scrape, spans)
    median, median_cpu = statistics.median(seconds), statistics.median(cpu)
    return median, median_cpu, calls // runs, len(spans) // runs, answer


def _check(label: str, runs: int, calls: int, scrape: str | None, spans: Sequence[Any]) -> None:
    require_cold(label, calls)
    settings = CONFIGS[label]
    if "server" in settings:  # metrics = false
        if scrape is not None:
            raise BenchError(f"{label}: /metrics answered with metrics off")
    else:
        counted = (
            f'lms_graph_graphql_requests_total{{operation="Canonical",outcome="ok"}} {runs + 1}.0'
        )
        if scrape is None or counted not in scrape:
            raise BenchError(f"{label}: the metrics did not count the {runs + 1} requests")
    if "tracing" in settings:
        operations = sum(1 for s in spans if s.kind is SpanKind.SERVER)
        vendor = sum(1 for s in spans if s.kind is SpanKind.CLIENT)
        if operations != runs or vendor != calls:
            raise BenchError(
                f"{label}: {operations} operation spans for {runs} requests, "
                f"{vendor} vendor spans for {calls} calls"
            )
    elif spans:
        raise BenchError(f"{label}: spans recorded without [tracing]")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args(argv)
    print(f"python -m bench.observability --users {args.users} --runs {args.runs}")
    print(
        f"{'configuration':<26} {'median ms':>10} {'CPU ms':>7} {'vendor calls':>13} {'spans':>6}"
    )
    answers = {}
    for label in CONFIGS:
        median, cpu, calls, spans, answers[label] = asyncio.run(
            measure(label, args.users, args.runs)
        )
        print(f"{label:<26} {median * 1000:>10.1f} {cpu * 1000:>7.1f} {calls:>13} {spans:>6}")
    first, *others = answers
    for label in others:
        require_same(label, answers[first], answers[label])
    return 0


if __name__ == "__main__":
    sys.exit(main())
