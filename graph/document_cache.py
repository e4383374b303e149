"""Parsed and validated documents, kept per schema so a repeated query skips both.

For a small query, parsing and validating are about half of the server's CPU. Each
schema (so each server, with its own limits) keeps:

- the documents of its trusted manifests, parsed when they are registered (at start-up)
  and never evicted;
- other documents (free-form queries, APQ registrations) in a bounded LRU, each only
  once it parsed and validated cleanly, and only up to :data:`MAX_CACHED_CHARACTERS`
  of text, which bounds the memory the LRU can hold.

A document is validated once, at its first execution, with exactly the rules every
execution runs (graphql-core's, Strawberry's, and this server's limits:
:mod:`graph.limits`); after that, executions take the parsed document and skip
validation. Validation depends only on the document and the schema: variables,
``operationName`` and the cost limit are applied at every execution. A document that
fails to parse or validate is never kept, so its errors are computed afresh each time
(they are shaped in place, so they must not be shared between responses).

Why not Strawberry's ``ParserCache`` and ``ValidationCache``: the first parses inside
its hook, so a syntax error escapes Strawberry's handling (and the token limit's error
code); the second overwrites errors an earlier hook set, so the field-count limit, which
refuses a fragment bomb *before* validation expands it, would be undone; both share one
module-level cache between every schema with the same size, whatever its limits.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

from graphql import DocumentNode, GraphQLError, parse
from strawberry.extensions import SchemaExtension

__all__ = ["MAX_CACHED_CHARACTERS", "CachedDocuments", "DocumentCache"]

#: Longer documents are parsed each time: rare, and the LRU's memory stays bounded
#: (an AST takes some 15 times its text).
MAX_CACHED_CHARACTERS = 20_000


@dataclass(slots=True)
class _Entry:
    document: DocumentNode
    validated: bool


class DocumentCache:
    """One schema's parsed documents, by text.

    Attributes:
        parses: Documents parsed by executions so far (a cache miss each); registered
            documents are parsed when registered and never here.
        validations: Documents validated by executions so far.
    """

    def __init__(self, maxsize: int = 256, *, max_tokens: int | None = None) -> None:
        self.maxsize = maxsize
        self.max_tokens = max_tokens
        self._pinned: dict[str, _Entry] = {}
        self._recent: OrderedDict[str, _Entry] = OrderedDict()
        self.parses = 0
        self.validations = 0

    def register(self, text: str) -> None:
        """Parse a trusted document now and keep it for good; it is validated with this
        server's limits at its first execution. One that does not parse is left to be
        refused at execution."""
        if text in self._pinned:
            return
        try:
            document = parse(text, max_tokens=self.max_tokens)
        except GraphQLError:
            return
        self._pinned[text] = _Entry(document, validated=False)
        self._recent.pop(text, None)

    def _entry(self, text: str) -> _Entry | None:
        entry = self._pinned.get(text)
        if entry is None:
            entry = self._recent.get(text)
            if entry is not None:
                self._recent.move_to_end(text)
        return entry

    def document(self, text: str) -> DocumentNode | None:
        """The parsed document of ``text``, when it is kept."""
        entry = self._entry(text)
        return entry.document if entry is not None else None

    def _keep(self, text: str, document: DocumentNode) -> None:
        entry = self._pinned.get(text)
        if entry is not None:
            entry.validated = True
            return
        if len(text) > MAX_CACHED_CHARACTERS or self.maxsize <= 0:
            return
        self._recent[text] = _Entry(document, validated=True)
        self._recent.move_to_end(text)
        while len(self._recent) > self.maxsize:
            self._recent.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pinned) + len(self._recent)


class CachedDocuments(SchemaExtension):
    """Serves a request's parsed document from its schema's :class:`DocumentCache` and
    skips validating a document that validated cleanly before.

    Must be the schema's first extension: its validation hook then runs before the
    limits' (:class:`graph.limits.FieldCountLimit` checks only documents not yet
    validated), and on a miss Strawberry parses and validates as it always does.
    """

    def __init__(self, cache: DocumentCache) -> None:
        self.cache = cache
        self._entry: _Entry | None = None

    def on_parse(self) -> Iterator[None]:
        execution = self.execution_context
        if execution.graphql_document is None and execution.query:
            self._entry = self.cache._entry(execution.query)
            if self._entry is not None:
                execution.graphql_document = self._entry.document
        yield
        if self._entry is None and execution.graphql_document is not None:
            self.cache.parses += 1

    def on_validate(self) -> Iterator[None]:
        execution = self.execution_context
        skip = self._entry is not None and self._entry.validated
        if skip and execution.pre_execution_errors is None:
            execution.pre_execution_errors = []  # Strawberry validates only when None
        yield
        if skip:
            return
        self.cache.validations += 1
        document = execution.graphql_document
        if document is not None and execution.query and execution.pre_execution_errors == []:
            self.cache._keep(execution.query, document)
