"""One WARNING line per source that failed in a request, with the request's ID.

Failures reach a response three ways: a nested field's error (its original error is
the :class:`~connectors.errors.ConnectorError`), a list's partial failure
(``Context.failures``) and stale data served in place of a failed call
(``Context.stale``). A source failing for fifty fields is still one line. The line
names the source, the code, the vendor's HTTP status and the request ID; connector
messages never carry credentials, and this line carries no message at all. The same
facts go into the request's record (:mod:`graph.telemetry`: metrics, the JSON access
line) and, as fields, into a JSON log line.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

from strawberry.extensions import SchemaExtension

from connectors.errors import ConnectorError
from graph.request_id import current_request_id
from graph.telemetry import current_record
from resolvers.context import Context

__all__ = ["SourceFailureLog"]

logger = logging.getLogger("lms_graph.sources")


@dataclass(frozen=True, slots=True)
class _Failure:
    code: str
    status: int | None
    breaker: str | None
    served_stale: bool = False


def _of(error: ConnectorError) -> _Failure:
    return _Failure(error.code, error.status, error.breaker)


def _note(found: dict[str, _Failure], source: str, failure: _Failure) -> None:
    """Keep one failure per source, preferring one that carries the vendor's status."""
    known = found.get(source)
    if known is None or (known.status is None and failure.status is not None):
        found[source] = failure


class SourceFailureLog(SchemaExtension):
    """Logs each failed source once per request; list it after ``ErrorShaping`` so it
    reads the errors before they are shaped."""

    def on_operation(self) -> Iterator[None]:
        yield
        failures = self._failures()
        request_id = current_request_id() or "-"
        record = current_record()
        for source, failure in failures.items():
            if record is not None:
                outcome = record.source(source)
                outcome.code, outcome.status = failure.code, failure.status
                outcome.breaker, outcome.served_stale = failure.breaker, failure.served_stale
            fields = {"source": source, "code": failure.code, "vendor_status": failure.status}
            if failure.breaker:
                fields["breaker"] = failure.breaker
            if failure.served_stale:
                fields["served_stale"] = True
            logger.warning(
                "source %s failed: code=%s vendor_status=%s%s%s request_id=%s",
                source,
                failure.code,
                failure.status if failure.status is not None else "-",
                f" breaker={failure.breaker}" if failure.breaker else "",
                " served_stale=true" if failure.served_stale else "",
                request_id,
                extra=fields,
            )

    def _failures(self) -> dict[str, _Failure]:
        found: dict[str, _Failure] = {}
        context = self.execution_context.context
        result = self.execution_context.result
        for error in (result.errors or []) if result is not None else []:
            if isinstance(error.original_error, ConnectorError):
                _note(found, error.original_error.source, _of(error.original_error))
        if isinstance(context, Context):
            for reported in context.failures:
                _note(found, reported.failure.error.source, _of(reported.failure.error))
            for notice in context.stale:
                _note(found, notice.source, _Failure(notice.cause, None, None, True))
        return found
