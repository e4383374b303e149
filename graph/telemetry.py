"""What one request did, for metrics, the access log line and the operation span.

:class:`RequestTelemetry` (an ASGI middleware just inside the request ID) opens a
:class:`RequestRecord` for each HTTP request and binds it in a context variable; the
parts that know something write into it: :class:`OperationTelemetry` (a schema
extension: operation name and type, outcome, per-source calls and failures), the cost
limit (its estimate, :func:`note_cost_estimate`) and every refusal (:func:`note_refusal`,
called by :func:`graph.http_errors.graphql_error_response` and the GraphQL view). When
the answer has been sent, the middleware feeds the record to the metrics and, with
``log_format = "json"``, writes one access line.

The middleware also binds the request's vendor-call observer
(:func:`connectors.observe.observe_calls`): the metrics, and the tracer when tracing is on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from time import perf_counter
from typing import TYPE_CHECKING, Any

from graphql import get_operation_ast
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from connectors.observe import VendorCall, observe_calls, stop_observing
from resolvers.context import Context

if TYPE_CHECKING:
    from graph.metrics import Metrics
    from graph.tracing import Tracing

__all__ = [
    "OperationTelemetry",
    "RequestObserver",
    "RequestRecord",
    "RequestTelemetry",
    "SourceOutcome",
    "current_record",
    "note_cost_estimate",
    "note_refusal",
    "note_stored_answer",
]

access_logger = logging.getLogger("lms_graph.access")


@dataclass(slots=True)
class SourceOutcome:
    """One source's part in a request: its vendor calls and how it failed, if it did."""

    calls: int = 0
    code: str | None = None
    status: int | None = None
    breaker: str | None = None
    served_stale: bool = False

    def as_log(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"outcome": self.code or "ok", "calls": self.calls}
        if self.status is not None:
            fields["vendor_status"] = self.status
        if self.breaker:
            fields["breaker"] = self.breaker
        if self.served_stale:
            fields["served_stale"] = True
        return fields


@dataclass(slots=True)
class RequestRecord:
    """What one HTTP request did; ``outcome`` stays None unless it was a GraphQL request
    (GraphiQL's page, ``/healthz`` … are not)."""

    method: str
    path: str
    started: float = field(default_factory=perf_counter)
    status: int | None = None
    client: str | None = None
    operation: str | None = None
    operation_type: str | None = None
    #: ok, partial, error, refused or cancelled; None: not a GraphQL request.
    outcome: str | None = None
    refusal: str | None = None
    sources: dict[str, SourceOutcome] = field(default_factory=dict)
    estimated: dict[str, int] = field(default_factory=dict)
    duration: float = 0.0

    def source(self, name: str) -> SourceOutcome:
        return self.sources.setdefault(name, SourceOutcome())

    def as_log(self) -> dict[str, Any]:
        """The access line's fields (no header, no query text, no variables)."""
        fields: dict[str, Any] = {
            "method": self.method,
            "path": self.path,
            "status": self.status,
            "duration_ms": round(self.duration * 1000, 2),
            "client": self.client,
        }
        if self.outcome is not None:
            fields.update(operation=self.operation, outcome=self.outcome)
            if self.operation_type:
                fields["operation_type"] = self.operation_type
            if self.refusal:
                fields["code"] = self.refusal
            fields["sources"] = {name: s.as_log() for name, s in sorted(self.sources.items())}
        return fields


_RECORD: ContextVar[RequestRecord | None] = ContextVar("lms_graph_request", default=None)


def current_record() -> RequestRecord | None:
    """The record of the request being handled, or None outside one."""
    return _RECORD.get()


def note_refusal(code: str) -> None:
    """The request is answered with a refusal coded ``code``, without execution."""
    record = _RECORD.get()
    if record is not None:
        record.outcome, record.refusal = "refused", str(code)


def note_stored_answer(operation: str | None) -> None:
    """The request was answered from the response cache: a query that ran cleanly when it
    was stored, under the same ``operationName`` (part of the response key), so it is
    labelled as its execution was."""
    record = _RECORD.get()
    if record is not None:
        record.operation, record.operation_type, record.outcome = operation, "query", "ok"


def note_cost_estimate(estimate: dict[str, int]) -> None:
    """The cost limit's estimate of the operation, per source."""
    record = _RECORD.get()
    if record is not None:
        record.estimated = dict(estimate)


class RequestObserver:
    """The vendor-call observer bound for a request: metrics, then the tracer's span."""

    def __init__(self, metrics: Metrics | None, tracing: Tracing | None) -> None:
        self.metrics = metrics
        self.tracing = tracing

    @contextmanager
    def vendor_call(self, call: VendorCall) -> Iterator[None]:
        with ExitStack() as stack:
            if self.metrics is not None:
                stack.enter_context(self.metrics.vendor_call(call))
            if self.tracing is not None:
                stack.enter_context(self.tracing.vendor_call(call))
            yield

    def vendor_retry(self, source: str, endpoint: str, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.vendor_retry(source, endpoint, reason)

    def cache_lookup(self, kind: str, hits: int, misses: int) -> None:
        if self.metrics is not None:
            self.metrics.cache_lookup(kind, hits, misses)


class RequestTelemetry:
    """Opens the record of each HTTP request, binds the observer, and reports the
    record once the answer is sent (metrics; the access line with ``access_log``)."""

    def __init__(
        self,
        app: ASGIApp,
        metrics: Metrics | None,
        tracing: Tracing | None,
        access_log: bool,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.tracing = tracing
        self.access_log = access_log
        self.observer = RequestObserver(metrics, tracing)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        record = RequestRecord(scope["method"], scope["path"])
        reported = False

        def report() -> None:
            nonlocal reported
            if not reported:
                reported = True
                record.duration = perf_counter() - record.started
                if record.client is None:  # refused before execution: the key's client
                    user = scope.get("user")
                    record.client = getattr(getattr(user, "client", None), "name", None)
                self._report(record)

        async def watched_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                record.status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                # Counted before the last byte leaves: a client that scrapes right after
                # its answer sees its request.
                report()
            await send(message)

        token = _RECORD.set(record)
        observed = observe_calls(self.observer)
        try:
            with ExitStack() as stack:
                if self.tracing is not None:
                    stack.enter_context(self.tracing.incoming(scope))
                await self.app(scope, receive, watched_send)
        finally:
            _RECORD.reset(token)
            stop_observing(observed)
            report()  # no answer sent (an error, or the client left)

    def _report(self, record: RequestRecord) -> None:
        if self.metrics is not None and record.outcome is not None:
            self.metrics.observe_request(record)
        if self.access_log:
            message = f"{record.method} {record.path} {record.status}"
            access_logger.info(message, extra=record.as_log())


class OperationTelemetry(SchemaExtension):
    """Writes the operation's name, type, outcome and per-source calls into the request's
    record; list it before ``ErrorShaping`` so it reads the shaped errors (with codes)."""

    def on_operation(self) -> Iterator[None]:
        try:
            yield
        except asyncio.CancelledError:  # the client left (graph.disconnect)
            self._write(cancelled=True)
            raise
        self._write(cancelled=False)

    def _write(self, *, cancelled: bool) -> None:
        record = _RECORD.get()
        if record is None:
            return
        execution = self.execution_context
        document = execution.graphql_document
        name = execution.operation_name
        operation = get_operation_ast(document, name) if document else None
        if operation is not None:
            # Only a name the document defines: an operationName the document lacks is
            # refused, and would otherwise take one of the metrics' operation labels.
            record.operation = name
            record.operation_type = operation.operation.value
        if isinstance(execution.context, Context):
            record.client = execution.context.client
            for source, calls in execution.context.vendor_calls.items():
                record.source(source).calls = calls
        if cancelled:
            record.outcome = "cancelled"
        if record.outcome is not None:  # refused, or cancelled
            return
        result = execution.result
        errors = (result.errors or []) if result is not None else []
        data = result.data if result is not None else None
        if data is None and errors and all(error.path is None for error in errors):
            code = (errors[0].extensions or {}).get("code", "INVALID_REQUEST")
            record.outcome, record.refusal = "refused", str(code)
        elif data is None and errors:
            record.outcome = "error"
        else:
            record.outcome = "partial" if errors else "ok"
