"""Prometheus metrics (``prometheus-client``), served on ``/metrics``.

Every label has a bounded set of values: operation names are client-chosen, so only the
first ``[server] metrics_max_operations`` distinct names get their own series and the
rest count as ``other`` (:class:`OperationLabels`); vendor endpoints are templated
(:func:`connectors.observe.endpoint_of`); sources, clients, codes and cache kinds come
from the config and the code. No label ever holds a credential, a client key, an ID or
a query string.

Each server has its own :class:`~prometheus_client.CollectorRegistry` (tests run several
in one process). With ``PROMETHEUS_MULTIPROC_DIR`` set before start, prometheus-client's
multiprocess mode keeps every worker's counters in files there and ``/metrics`` adds
them up, whichever worker answers; the breaker states are then the answering worker's.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from time import perf_counter
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from connectors.breaker import BreakerState, CircuitBreaker
from connectors.observe import VendorCall

if TYPE_CHECKING:
    from graph.telemetry import RequestRecord

__all__ = ["ANONYMOUS", "OTHER", "BreakerCollector", "Metrics", "OperationLabels"]

#: The operation label of a request without an operation name.
ANONYMOUS = "anonymous"
#: The operation label of names past the cap, or not GraphQL names at all.
OTHER = "other"
_NAME = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class OperationLabels:
    """Operation names as label values: the first ``cap`` distinct names keep their own,
    later ones (and anything that is not a GraphQL name) are ``other``."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self._known: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, name: str | None) -> str:
        if not name:
            return ANONYMOUS
        if name in self._known:
            return name
        if _NAME.fullmatch(name) is None:
            return OTHER
        with self._lock:
            if len(self._known) >= self.cap:
                return OTHER
            self._known.add(name)
        return name


class BreakerCollector(Collector):
    """Each source's circuit breaker, read when scraped."""

    def __init__(self) -> None:
        self.breakers: Mapping[str, CircuitBreaker] = {}

    def collect(self) -> Iterable[Metric]:
        state = GaugeMetricFamily(
            "lms_graph_breaker_state",
            "Circuit breaker state per source: 1 for the current state, 0 for the others.",
            labels=["source", "state"],
        )
        failures = GaugeMetricFamily(
            "lms_graph_breaker_failures",
            "Outages in a row per source (the breaker opens at its threshold).",
            labels=["source"],
        )
        for source, breaker in self.breakers.items():
            current = breaker.state
            for each in BreakerState:
                state.add_metric([source, each.value], 1.0 if each is current else 0.0)
            failures.add_metric([source], float(breaker.failures))
        return [state, failures]


class Metrics:
    """The server's metrics; also the vendor-call and cache half of the request observer.

    Args:
        max_operations: How many distinct operation names get a series of their own.
    """

    def __init__(self, max_operations: int = 100) -> None:
        self.registry = CollectorRegistry()
        self.operations = OperationLabels(max_operations)
        self.breakers = BreakerCollector()
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        r = self.registry
        self.requests = Counter(
            "lms_graph_graphql_requests",
            "GraphQL requests by operation name and outcome (ok, partial, error, refused).",
            ["operation", "outcome"],
            registry=r,
        )
        self.latency = Histogram(
            "lms_graph_graphql_request_duration_seconds",
            "Time from a GraphQL request's arrival to its answer, by operation name.",
            ["operation"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.refusals = Counter(
            "lms_graph_refusals",
            "Requests refused before execution (limits, keys, malformed requests), by code.",
            ["code"],
            registry=r,
        )
        self.vendor_requests = Counter(
            "lms_graph_vendor_requests",
            "HTTP requests sent to vendors (each try), by source, endpoint and HTTP status "
            "(error: no answer).",
            ["source", "endpoint", "status"],
            registry=r,
        )
        self.vendor_latency = Histogram(
            "lms_graph_vendor_request_duration_seconds",
            "Duration of each HTTP request to a vendor, by source.",
            ["source"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.retries = Counter(
            "lms_graph_vendor_retries",
            "Vendor requests tried again, by source, endpoint and the code that failed.",
            ["source", "endpoint", "reason"],
            registry=r,
        )
        self.cache_hits = Counter(
            "lms_graph_cache_hits",
            "Cache look-ups answered from the cache, by kind (users, users_list, …).",
            ["kind"],
            registry=r,
        )
        self.cache_misses = Counter(
            "lms_graph_cache_misses", "Cache look-ups that missed, by kind.", ["kind"], registry=r
        )
        self.cost_estimated = Counter(
            "lms_graph_cost_estimated_calls",
            "Vendor calls the cost limit estimated for executed operations, by source.",
            ["source"],
            registry=r,
        )
        self.cost_spent = Counter(
            "lms_graph_cost_spent_calls",
            "Vendor calls GraphQL operations actually made, by source.",
            ["source"],
            registry=r,
        )
        r.register(self.breakers)

    def watch_breakers(self, breakers: Mapping[str, CircuitBreaker]) -> None:
        self.breakers.breakers = breakers

    def scrape_registry(self) -> CollectorRegistry:
        """What ``/metrics`` serves: this process's registry, or in multiprocess mode
        every worker's counters from the files plus this worker's breakers."""
        if not self.multiprocess:
            return self.registry
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        registry.register(self.breakers)
        return registry

    def observe_request(self, record: RequestRecord) -> None:
        """Count a GraphQL request once it has been answered."""
        operation = self.operations(record.operation)
        outcome = record.outcome or "error"
        self.requests.labels(operation, outcome).inc()
        self.latency.labels(operation).observe(record.duration)
        if record.refusal is not None:
            self.refusals.labels(record.refusal).inc()
        executed = record.outcome != "refused"
        for source, estimate in record.estimated.items() if executed else ():
            self.cost_estimated.labels(source).inc(estimate)
        for source, outcome_of_source in record.sources.items():
            if outcome_of_source.calls:
                self.cost_spent.labels(source).inc(outcome_of_source.calls)

    # -- the request observer's half (connectors.observe.CallObserver) -------------------

    @contextmanager
    def vendor_call(self, call: VendorCall) -> Iterator[None]:
        started = perf_counter()
        try:
            yield
        finally:
            self.vendor_latency.labels(call.source).observe(perf_counter() - started)
            self.vendor_requests.labels(call.source, call.endpoint, call.outcome).inc()

    def vendor_retry(self, source: str, endpoint: str, reason: str) -> None:
        self.retries.labels(source, endpoint, reason).inc()

    def cache_lookup(self, kind: str, hits: int, misses: int) -> None:
        if hits:
            self.cache_hits.labels(str(kind)).inc(hits)
        if misses:
            self.cache_misses.labels(str(kind)).inc(misses)
