"""How errors reach clients: a stable code in ``extensions``, never a traceback or a secret.

- A failing source yields an error naming the source and a ``SOURCE_*`` code, next to
  the data the other sources gave (partial failures are collected on the context while
  resolving and appended here).
- A source that failed but whose expired cache entries were served yields an error
  with code ``SOURCE_STALE_DATA``, the source and the data's age (``ageSeconds``).
- A vendor page some of whose records could not be read (no usable ID, malformed) is
  served without them, with one warning per page: code ``SOURCE_BAD_RECORD``, the
  source, the endpoint and the number of records skipped.
- Bad input (IDs, cursors, arguments) yields the resolver's message and an input code.
- Anything unexpected is logged with its traceback by Strawberry and shown to the
  client as ``INTERNAL_SERVER_ERROR`` with a fixed message.
- At most ``max_errors`` errors are shown, then one ``TOO_MANY_ERRORS`` summary.

Shaping is linear in the number of errors: each is changed in place, never rebuilt (a
rebuilt error recomputes its source locations), and :class:`IndexedParsing` makes the
locations graphql-core computes while executing a bisect instead of a document scan.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator, Sequence
from typing import Any, cast

from graphql import GraphQLError, GraphQLSyntaxError, Source, SourceLocation
from strawberry.extensions import SchemaExtension

from connectors.errors import ConnectorError
from connectors.records import BadRecords
from resolvers.cache import StaleNotice
from resolvers.context import Context
from resolvers.errors import UserInputError

__all__ = [
    "BAD_RECORD_CODE",
    "DEFAULT_MAX_ERRORS",
    "STALE_DATA_CODE",
    "TOO_MANY_ERRORS_CODE",
    "ErrorShaping",
    "IndexedParsing",
    "IndexedSource",
    "bad_record_errors",
    "source_error_extensions",
    "stale_data_errors",
]

INTERNAL_MESSAGE = "Unexpected error; the server log has details."
#: The document does not parse / does not validate against the schema.
PARSE_FAILED_CODE = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED_CODE = "GRAPHQL_VALIDATION_FAILED"
DEFAULT_MAX_ERRORS = 100
#: Past ``[limits] max_errors``, the errors left out are summed up in one error.
TOO_MANY_ERRORS_CODE = "TOO_MANY_ERRORS"
_NEWLINE = re.compile(r"\r\n|[\n\r]")
#: A source failed and expired cache entries were served for it (stale-if-error).
STALE_DATA_CODE = "SOURCE_STALE_DATA"
#: A warning: records of a vendor page could not be read and were skipped; the rest stand.
BAD_RECORD_CODE = "SOURCE_BAD_RECORD"


def source_error_extensions(error: ConnectorError) -> dict[str, Any]:
    extensions: dict[str, Any] = {
        "code": error.code,
        "source": error.source,
        "vendor": error.vendor,
    }
    if error.status is not None:
        extensions["httpStatus"] = error.status
    if error.vendor_code:
        extensions["vendorCode"] = error.vendor_code
    if error.retry_after is not None:
        extensions["retryAfterSeconds"] = error.retry_after
    if error.breaker is not None:
        extensions["breaker"] = error.breaker
    return extensions


def stale_data_errors(notices: Sequence[StaleNotice]) -> list[GraphQLError]:
    """One error per source that was answered from expired cache entries, with the age
    of the oldest entry served."""
    oldest: dict[str, StaleNotice] = {}
    for notice in notices:
        known = oldest.get(notice.source)
        if known is None or notice.age_seconds > known.age_seconds:
            oldest[notice.source] = notice
    return [
        GraphQLError(
            f"source {notice.source!r} failed ({notice.cause}); some of its data is served "
            f"from the cache and is {int(notice.age_seconds)} seconds old",
            extensions={
                "code": STALE_DATA_CODE,
                "source": notice.source,
                "ageSeconds": int(notice.age_seconds),
                "cause": notice.cause,
            },
        )
        for notice in oldest.values()
    ]


def bad_record_errors(notices: Sequence[BadRecords]) -> list[GraphQLError]:
    """One warning per vendor page that had records skipped (a page read twice counts once)."""
    pages = {(n.source, n.endpoint, n.page): n for n in notices}
    return [
        GraphQLError(
            notice.message,
            extensions={
                "code": BAD_RECORD_CODE,
                "source": notice.source,
                "vendor": notice.vendor,
                "endpoint": notice.endpoint,
                "count": notice.count,
            },
        )
        for notice in pages.values()
    ]


def _relocate(error: GraphQLError) -> None:
    """Locates ``error`` at its field nodes in the request's document, in place.

    graphql-core's ``located_error`` duck-types the exception a resolver raised: a
    ``source`` attribute is taken for the document and ``positions`` for offsets in it.
    A :class:`ConnectorError`'s ``source`` is the source's name, so its error was located
    in a one-line "document" holding that name (line 1, the field's offset as column).
    No exception of ours carries the document, so the field nodes are the truth.
    """
    located = [node.loc for node in error.nodes or () if node.loc is not None]
    if not located:
        return
    error.source = located[0].source
    error.positions = [loc.start for loc in located]
    error.locations = [loc.source.get_location(loc.start) for loc in located]


def _shape(error: GraphQLError) -> None:
    """Gives ``error`` its code and client-safe message, in place.

    In place on purpose: building a new GraphQLError from nodes recomputes its source
    locations, which costs a scan of the document per error.
    """
    original = error.original_error
    if original is not None and not isinstance(original, GraphQLError):
        _relocate(error)
    if original is None:
        if not (error.extensions or {}).get("code"):
            parse_failed = isinstance(error, GraphQLSyntaxError)
            code = PARSE_FAILED_CODE if parse_failed else VALIDATION_FAILED_CODE
            error.extensions = {**(error.extensions or {}), "code": code}
        return
    if isinstance(original, ConnectorError):
        error.extensions, error.message = source_error_extensions(original), original.message
    elif isinstance(original, UserInputError):
        error.extensions, error.message = {"code": original.code}, str(original)
    elif isinstance(original, GraphQLError) and original is not error and error.path is None:
        # A request error graphql-core wraps (a variable that does not coerce).
        _shape(original)
        error.extensions, error.message = original.extensions, original.message
    else:
        # Also graphql-core's own errors raised while executing a field (a vendor's value
        # past Int's 32 bits): the request was valid, so no GRAPHQL_* code fits them.
        error.extensions, error.message = {"code": "INTERNAL_SERVER_ERROR"}, INTERNAL_MESSAGE
    # Nothing of the original (a traceback, a vendor body) can reach the response.
    error.original_error = None


def _summary(left_out: int, shown: int) -> GraphQLError:
    return GraphQLError(
        f"{left_out} more errors were left out; a response carries at most {shown} "
        "(fix the first ones, or ask for less)",
        extensions={"code": TOO_MANY_ERRORS_CODE, "leftOut": left_out},
    )


class ErrorShaping(SchemaExtension):
    """Appends partial source failures, gives every error a code, and keeps at most
    ``max_errors`` of them, then one summary error."""

    def __init__(self, max_errors: int = DEFAULT_MAX_ERRORS) -> None:
        self.max_errors = max_errors

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        if result is None:
            return
        errors = list(result.errors or [])
        context = self.execution_context.context
        if isinstance(context, Context):
            for reported in context.failures:
                failure = reported.failure.error
                errors.append(
                    GraphQLError(
                        failure.message,
                        path=list(reported.path),
                        extensions=source_error_extensions(failure),
                    )
                )
            errors.extend(stale_data_errors(context.stale))
            errors.extend(bad_record_errors(context.bad_records))
        if not errors:
            return
        kept = errors[: self.max_errors]
        for error in kept:
            _shape(error)
        if len(errors) > len(kept):
            kept.append(_summary(len(errors) - len(kept), len(kept)))
        result.errors = kept


class IndexedSource(Source):
    """A document that finds the line of a position by binary search.

    graphql-core finds an error's line by scanning the document from the start, once
    per error: N errors in an N-field document cost N² (4,000 aliases of a failing
    field took tens of seconds). With the line starts indexed once, each is a bisect.
    """

    def __init__(self, body: str) -> None:
        super().__init__(body)
        self._index()

    def _index(self) -> None:
        self._line_starts = [0] + [m.end() for m in _NEWLINE.finditer(self.body)]

    @staticmethod
    def adopt(source: Source) -> None:
        """Turn ``source`` into an IndexedSource in place: a parsed document's nodes all
        point at that one object, so their locations use the index from now on. (Parsing
        an IndexedSource instead would mean parsing twice whenever parsing fails.)"""
        if isinstance(source, IndexedSource):
            return  # a kept document (graph/document_cache.py), indexed when first parsed
        source.__class__ = IndexedSource
        cast(IndexedSource, source)._index()

    def get_location(self, position: int) -> SourceLocation:
        line = bisect.bisect_right(self._line_starts, position) - 1
        return SourceLocation(line + 1, position + 1 - self._line_starts[line])


class IndexedParsing(SchemaExtension):
    """Indexes the lines of each parsed request (:class:`IndexedSource`), so the
    locations graphql-core computes for execution errors cost a bisect each."""

    def on_parse(self) -> Iterator[None]:
        yield
        document = self.execution_context.graphql_document
        if document is not None and document.loc is not None:
            IndexedSource.adopt(document.loc.source)
