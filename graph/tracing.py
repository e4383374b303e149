"""OpenTelemetry tracing (``[tracing]``, the ``lms-graph[otel]`` extra): a span per
GraphQL operation and one per vendor HTTP request, exported over OTLP/HTTP.

Only imported when ``[tracing]`` is configured, so the base install never imports
OpenTelemetry. Each server has its own ``TracerProvider`` (never the global one: tests
run several servers in one process, and a host application may have its own).

- The operation span is Strawberry's ``OpenTelemetryExtension`` with two changes: no
  span per resolver (its default: thousands of spans for one list query) and no
  ``query`` attribute (the document can be 256 KB and holds inline arguments such as
  e-mail addresses). It is the current span while the operation runs, so vendor spans,
  made in DataLoader tasks, are its children.
- A vendor span per HTTP request (each try), with the source, vendor, templated
  endpoint, status, cache status and retry count, and no URL, header or body: vendors'
  credentials travel in headers, and query strings hold look-up values.
- An incoming W3C ``traceparent`` (and ``tracestate``) is the parent of the operation
  span, sampled as the caller decided (``ParentBased``); otherwise ``sample_ratio``.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import Scope
from strawberry.extensions import LifecycleStep, SchemaExtension
from strawberry.extensions.tracing import OpenTelemetryExtension

from connectors.observe import VendorCall
from graph.telemetry import current_record

if TYPE_CHECKING:
    from graph.config import TracingSettings

__all__ = ["OperationSpan", "Tracing"]

_PROPAGATOR = TraceContextTextMapPropagator()


class OperationSpan(OpenTelemetryExtension):
    """Strawberry's operation span, current while the operation runs; no resolver spans."""

    # Strawberry adds an extension to every field's resolution only when it overrides
    # ``resolve``: putting the base one back turns the per-resolver spans off entirely.
    resolve = SchemaExtension.resolve  # type: ignore[assignment]

    def on_operation(self) -> Generator[None, None, None]:
        span = self._tracer.start_span("GraphQL operation", kind=SpanKind.SERVER)
        span.set_attribute("component", "graphql")
        self._span_holder[LifecycleStep.OPERATION] = span
        try:
            with trace.use_span(span, end_on_exit=False):
                yield
        except BaseException as exc:  # cancelled (the client left), or refused by the view
            span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise
        finally:
            self._describe(span)
            span.end()

    def _describe(self, span: Span) -> None:
        execution = self.execution_context
        record = current_record()
        # The record's name is one the document defines; the request's may be anything.
        name = record.operation if record is not None else execution.operation_name
        kind = record.operation_type if record is not None else None
        span.update_name(" ".join(part for part in (kind or "GraphQL", name) if part))
        if name:
            span.set_attribute("graphql.operation.name", name)
        if record is not None:
            if kind:
                span.set_attribute("graphql.operation.type", kind)
            if record.client:
                span.set_attribute("lms_graph.client", record.client)
            span.set_attribute("lms_graph.outcome", record.outcome or "error")
            if record.refusal:
                span.set_attribute("lms_graph.code", record.refusal)
                span.set_status(Status(StatusCode.ERROR, record.refusal))
            calls = sum(source.calls for source in record.sources.values())
            span.set_attribute("lms_graph.vendor_calls", calls)
            failed = sorted(source for source, s in record.sources.items() if s.code)
            if failed:
                span.set_attribute("lms_graph.failed_sources", failed)


class Tracing:
    """The server's tracer provider and the spans it makes.

    Args:
        settings: ``[tracing]``.
        exporter: Where spans go; None: OTLP over HTTP to ``settings.endpoint``, in
            batches. Tests pass an in-memory exporter, which gets each span as it ends.
    """

    def __init__(self, settings: TracingSettings, exporter: SpanExporter | None = None) -> None:
        resource = Resource.create({"service.name": settings.service_name})
        sampler = ParentBased(TraceIdRatioBased(settings.sample_ratio))
        self.provider = TracerProvider(resource=resource, sampler=sampler)
        if exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            otlp = OTLPSpanExporter(endpoint=settings.endpoint)
            self.provider.add_span_processor(BatchSpanProcessor(otlp))
        else:
            self.provider.add_span_processor(SimpleSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("lms_graph")

    def extension(self) -> OperationSpan:
        return OperationSpan(tracer_provider=self.provider)

    def shutdown(self) -> None:
        """Sends the spans still queued, then stops."""
        self.provider.shutdown()

    @contextmanager
    def incoming(self, scope: Scope) -> Iterator[None]:
        """The request's ``traceparent`` (if any) as the current context."""
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope.get("headers", ())
            if name in (b"traceparent", b"tracestate")
        }
        if not carrier:
            yield
            return
        token = otel_context.attach(_PROPAGATOR.extract(carrier))
        try:
            yield
        finally:
            otel_context.detach(token)

    @contextmanager
    def vendor_call(self, call: VendorCall) -> Iterator[None]:
        attributes: dict[str, str | int] = {
            "lms_graph.source": call.source,
            "lms_graph.vendor": call.vendor,
            "http.request.method": call.method,
            "url.template": call.endpoint,
            "lms_graph.cache": call.cache,
            "lms_graph.retry_count": call.attempt - 1,
        }
        name = f"{call.method} {call.source} {call.endpoint}"
        with self.tracer.start_as_current_span(
            name,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                yield
            finally:
                if call.status is not None:
                    span.set_attribute("http.response.status_code", call.status)
                error = call.error or (None if call.status is not None else "cancelled")
                if error:
                    span.set_attribute("error.type", error)
                    span.set_status(Status(StatusCode.ERROR, error))
