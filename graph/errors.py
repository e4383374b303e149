"""How errors reach clients: a stable code in ``extensions``, never a traceback or a secret.

- A failing source yields an error naming the source and a ``SOURCE_*`` code, next to
  the data the other sources gave (partial failures are collected on the context while
  resolving and appended here).
- Bad input (IDs, cursors, arguments) yields the resolver's message and an input code.
- Anything unexpected is logged with its traceback by Strawberry and shown to the
  client as ``INTERNAL_SERVER_ERROR`` with a fixed message.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from connectors.errors import ConnectorError
from resolvers.context import Context
from resolvers.errors import UserInputError

__all__ = ["ErrorShaping", "source_error_extensions"]

INTERNAL_MESSAGE = "Unexpected error; the server log has details."


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
    return extensions


def _shape(error: GraphQLError) -> GraphQLError:
    original = error.original_error
    if original is None:
        extensions = dict(error.extensions or {})
        extensions.setdefault("code", "GRAPHQL_VALIDATION_FAILED")
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
        if errors:
            result.errors = [_shape(error) for error in errors]
