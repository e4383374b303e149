"""How errors reach clients: a stable code in ``extensions``, never a traceback or a secret.

- A failing source yields an error naming the source and a ``SOURCE_*`` code, next to
  the data the other sources gave (partial failures are collected on the context while
  resolving and appended here).
- A source that failed but whose expired cache entries were served yields an error
  with code ``SOURCE_STALE_DATA``, the source and the data's age (``ageSeconds``).
- Bad input (IDs, cursors, arguments) yields the resolver's message and an input code.
- Anything unexpected is logged with its traceback by Strawberry and shown to the
  client as ``INTERNAL_SERVER_ERROR`` with a fixed message.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError
from strawberry.extensions import SchemaExtension

from connectors.errors import ConnectorError
from resolvers.cache import StaleNotice
from resolvers.context import Context
from resolvers.errors import UserInputError

__all__ = ["STALE_DATA_CODE", "ErrorShaping", "source_error_extensions", "stale_data_errors"]

INTERNAL_MESSAGE = "Unexpected error; the server log has details."
#: The document does not parse / does not validate against the schema.
PARSE_FAILED_CODE = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED_CODE = "GRAPHQL_VALIDATION_FAILED"
#: A source failed and expired cache entries were served for it (stale-if-error).
STALE_DATA_CODE = "SOURCE_STALE_DATA"


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


def _shape(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if original is None:
        extensions = dict(error.extensions or {})
        parse_failed = isinstance(error, GraphQLSyntaxError)
        extensions.setdefault("code", PARSE_FAILED_CODE if parse_failed else VALIDATION_FAILED_CODE)
        error.extensions = extensions
        return error
    if isinstance(original, ConnectorError):
        extensions = source_error_extensions(original)
        message = original.message
    elif isinstance(original, UserInputError):
        extensions, message = {"code": original.code}, str(original)
    elif isinstance(original, GraphQLError):
        return _shape(original) if original is not error else error
    else:
        extensions, message = {"code": "INTERNAL_SERVER_ERROR"}, INTERNAL_MESSAGE
    return GraphQLError(
        message, nodes=error.nodes, path=error.path, original_error=None, extensions=extensions
    )


class ErrorShaping(SchemaExtension):
    """Appends partial source failures and gives every error a code."""

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
        if errors:
            result.errors = [_shape(error) for error in errors]
