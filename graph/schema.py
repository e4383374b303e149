"""The schema: one per server (its limits are schema extensions), and the SDL text
``schema.graphql`` must equal (the same for every server)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import AddValidationRules, SchemaExtension
from strawberry.types import ExecutionContext, ExecutionResult

from connectors.errors import ConnectorError
from graph.config import LimitsSettings
from graph.document_cache import CachedDocuments, DocumentCache
from graph.errors import ErrorShaping, IndexedParsing
from graph.failure_log import SourceFailureLog
from graph.federation import (
    FEDERATION_VERSION,
    FederatedQuery,
    NoServiceField,
    check_keyed,
    subgraph_definitions,
)
from graph.limits import limit_extensions, more_tokens_than, tokens_error
from graph.query import Query
from graph.telemetry import OperationTelemetry, note_refusal
from resolvers.errors import UserInputError

__all__ = ["FederatedSchema", "LmsGraphSchema", "build_schema", "schema", "schema_sdl"]

logger = logging.getLogger("lms_graph.errors")


class LmsGraphSchema(strawberry.Schema):
    """Strawberry's schema; ``max_tokens`` refuses an over-long document before parsing.

    The token limit is also Strawberry's ``MaxTokensLimiter`` (the parser stops at the
    limit), but lexing up to the limit in pure Python is the largest cost of refusing an
    abusive document: a regex count at C speed refuses it first, for a tenth of that.
    """

    def __init__(
        self,
        *args: Any,
        max_tokens: int | None = None,
        documents: DocumentCache | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.max_tokens = max_tokens
        self.documents = documents if documents is not None else DocumentCache(0)

    async def execute(self, query: str | None, *args: Any, **kwargs: Any) -> ExecutionResult:
        if (
            query
            and self.max_tokens is not None
            and self.documents.document(query) is None  # a kept one passed
            and more_tokens_than(query, self.max_tokens)
        ):
            logger.debug("client error: more than %d tokens", self.max_tokens)
            error = tokens_error(self.max_tokens)
            note_refusal(str((error.extensions or {})["code"]))
            return ExecutionResult(data=None, errors=[error])
        return await super().execute(query, *args, **kwargs)

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


class FederatedSchema(LmsGraphSchema, strawberry.federation.Schema):
    """The same schema served as an Apollo Federation v2 subgraph (:mod:`graph.federation`);
    ``_entities`` takes at most ``max_representations`` representations."""

    def __init__(self, *args: Any, max_representations: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_representations = max_representations
        check_keyed(self.schema_converter.type_map)


def build_schema(
    limits: LimitsSettings | None = None,
    *,
    introspection: bool = True,
    federation: bool = False,
    tracing: Callable[[], SchemaExtension] | None = None,
) -> LmsGraphSchema:
    """The schema of a server with ``[limits]``, ``[server] introspection`` and
    ``[server] federation``; ``tracing`` makes the operation span (:mod:`graph.tracing`)
    when ``[tracing]`` is on."""
    limits = limits or LimitsSettings()
    documents = DocumentCache(max_tokens=limits.max_tokens)
    extensions: list[Any] = [
        # First, so their hooks exit last: the span ends after everything it covers, and
        # the record is written once ErrorShaping has coded the errors.
        *([tracing] if tracing is not None else []),
        OperationTelemetry,
        # Its validation hook runs before the limits' (graph/document_cache.py).
        lambda: CachedDocuments(documents),
        IndexedParsing,
        *limit_extensions(limits, introspection=introspection),
        lambda: ErrorShaping(limits.max_errors),
        # After ErrorShaping: its hook exits first, and sees the errors unshaped.
        SourceFailureLog,
    ]
    if not federation:
        return LmsGraphSchema(
            query=Query, max_tokens=limits.max_tokens, documents=documents, extensions=extensions
        )
    if not introspection:
        extensions.append(lambda: AddValidationRules([NoServiceField]))
    return FederatedSchema(
        query=FederatedQuery,
        types=subgraph_definitions(),
        max_tokens=limits.max_tokens,
        documents=documents,
        max_representations=limits.max_representations,
        extensions=extensions,
        federation_version=FEDERATION_VERSION,
    )


schema = build_schema()


def schema_sdl(target: Any = None) -> str:
    """The SDL, as written to ``schema.graphql``."""
    return (target or schema).as_str() + "\n"
