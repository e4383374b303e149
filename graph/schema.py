"""The schema: one per server (its limits are schema extensions), and the SDL text
``schema.graphql`` must equal (the same for every server)."""

from __future__ import annotations

import logging
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.types import ExecutionContext

from connectors.errors import ConnectorError
from graph.config import LimitsSettings
from graph.errors import ErrorShaping, IndexedParsing
from graph.failure_log import SourceFailureLog
from graph.limits import limit_extensions
from graph.query import Query
from resolvers.errors import UserInputError

__all__ = ["LmsGraphSchema", "build_schema", "schema", "schema_sdl"]

logger = logging.getLogger("lms_graph.errors")


class LmsGraphSchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Expected failures get one log line; only real bugs get a traceback."""
        unexpected = []
        for error in errors:
            original = error.original_error
            if isinstance(original, ConnectorError):
                # SourceFailureLog writes one WARNING per failed source and request.
                logger.debug("%s", original.message)
            elif isinstance(original, UserInputError) or original is None:
                logger.debug("client error: %s", error.message)
            else:
                unexpected.append(error)
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema(
    limits: LimitsSettings | None = None, *, introspection: bool = True
) -> LmsGraphSchema:
    """The schema of a server with ``[limits]`` and ``[server] introspection``."""
    limits = limits or LimitsSettings()
    return LmsGraphSchema(
        query=Query,
        extensions=[
            IndexedParsing,
            *limit_extensions(limits, introspection=introspection),
            lambda: ErrorShaping(limits.max_errors),
            # After ErrorShaping: its hook exits first, and sees the errors unshaped.
            SourceFailureLog,
        ],
    )


schema = build_schema()


def schema_sdl(target: Any = None) -> str:
    """The SDL, as written to ``schema.graphql``."""
    return (target or schema).as_str() + "\n"
