"""Persisted documents: automatic persisted queries (APQ) and trusted documents, one registry.

A request names its document in one of these ways, looked up in this order:

- ``extensions.persistedQuery.sha256Hash`` (Apollo Client's persisted-query link; with
  ``query`` beside it, the query is registered under that hash when APQ is on);
- a top-level ``documentId``: ``"sha256:<hex>"`` (the GraphQL-over-HTTP draft) or a bare ID;
- Relay's ``doc_id`` or ``id``.

Trusted documents come from manifests (Apollo's persisted-query manifest or Relay's
``persisted_queries.json`` map) loaded at start-up, and from ``lms-graph documents add``,
which writes them into the shared store (Redis, when the cache is there), where APQ
entries live too. Every document is parsed and validated against the schema once, when it
is registered; one that does not is never stored.

Store keys::

    lms-graph:documents:v1:trusted:sha256:<hex>   trusted, by the SHA-256 of its text
    lms-graph:documents:v1:trusted:id:<id>        trusted, by its manifest ID
    lms-graph:documents:v1:apq:sha256:<hex>       registered by a client through APQ

This module knows no HTTP: it answers with the text to run, or raises
:class:`DocumentRefused` carrying a code; the view turns that into a response.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, parse, validate
from graphql.type import GraphQLSchema

from graph.document_cache import DocumentCache
from resolvers.cache import CacheStore
from resolvers.cache.keys import KEY_PREFIX, KEY_VERSION

__all__ = [
    "DOCUMENTS_PREFIX",
    "ApqPolicy",
    "DocumentCode",
    "DocumentMode",
    "DocumentRefused",
    "DocumentRegistry",
    "InvalidDocumentError",
    "PersistedDocument",
    "checked_document",
    "read_manifest",
    "sha256_of",
]

logger = logging.getLogger("lms_graph.documents")

#: Beside the cache entries (``lms-graph:v1:…``), not under them: ``lms-graph cache clear``
#: must not drop trusted documents, and a source may be called "documents".
DOCUMENTS_PREFIX = f"{KEY_PREFIX}:documents:{KEY_VERSION}:"
_TRUSTED_SHA = f"{DOCUMENTS_PREFIX}trusted:sha256:"
_TRUSTED_ID = f"{DOCUMENTS_PREFIX}trusted:id:"
_APQ_SHA = f"{DOCUMENTS_PREFIX}apq:sha256:"
_DOCUMENT_ID_SHA = "sha256:"
#: Log mode remembers this many unknown documents it already logged, then starts over.
_LOGGED_LIMIT = 10_000


class DocumentMode(StrEnum):
    """``[documents] mode``."""

    OPEN = "open"
    LOG = "log"
    TRUSTED = "trusted"


class DocumentCode(StrEnum):
    """``extensions.code`` of a refused request."""

    NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
    NOT_SUPPORTED = "PERSISTED_QUERY_NOT_SUPPORTED"
    HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH"
    BAD_REQUEST = "PERSISTED_QUERY_BAD_REQUEST"
    NOT_TRUSTED = "PERSISTED_QUERY_REQUIRED"


class DocumentRefused(Exception):
    """The request's document cannot run; ``message`` and ``code`` are safe to show.

    Attributes:
        by_apq_hash: The document was named by ``extensions.persistedQuery`` (Apollo's
            link expects its not-found answer as a normal GraphQL response).
    """

    def __init__(self, code: DocumentCode, message: str, *, by_apq_hash: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.by_apq_hash = by_apq_hash


class InvalidDocumentError(ValueError):
    """A document to register does not parse or does not validate against the schema."""


@dataclass(frozen=True, slots=True)
class PersistedDocument:
    """A registered document: its ID (the SHA-256 unless a manifest says otherwise)."""

    id: str
    body: str
    name: str | None

    @property
    def sha256(self) -> str:
        return sha256_of(self.body)


@dataclass(frozen=True, slots=True)
class ApqPolicy:
    """``[documents]`` as the registry reads it."""

    mode: DocumentMode = DocumentMode.OPEN
    apq: bool = True
    apq_ttl_seconds: int = 86_400


def sha256_of(text: str) -> str:
    """The hex SHA-256 of ``text`` as UTF-8: what Apollo Client hashes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _first_name(document: DocumentNode) -> str | None:
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode) and definition.name:
            return definition.name.value
    return None


def _operation_name(body: str) -> str | None:
    try:
        return _first_name(parse(body, no_location=True))
    except GraphQLError:
        return None


def checked_document(
    schema: GraphQLSchema, body: str, doc_id: str | None = None
) -> PersistedDocument:
    """``body`` parsed and validated once; raises :class:`InvalidDocumentError` with the
    first problem."""
    try:
        document = parse(body, no_location=True)
    except GraphQLError as error:
        raise InvalidDocumentError(f"does not parse: {error.message}") from None
    errors = validate(schema, document)
    if errors:
        raise InvalidDocumentError(f"does not validate: {errors[0].message}")
    names = [
        d.name.value
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode) and d.name
    ]
    return PersistedDocument(doc_id or sha256_of(body), body, names[0] if names else None)


def _manifest_entries(data: Any) -> list[tuple[str, str, Any]]:
    """``(label, id, body)`` of an Apollo manifest or a Relay map."""
    if isinstance(data, dict) and data.get("format") == "apollo-persisted-query-manifest":
        if data.get("version") != 1:
            raise InvalidDocumentError("Apollo manifest: only version 1 is understood")
        operations = data.get("operations")
        if not isinstance(operations, list):
            raise InvalidDocumentError('Apollo manifest: "operations" must be a list')
        entries = []
        for index, operation in enumerate(operations):
            if not isinstance(operation, dict) or not isinstance(operation.get("id"), str):
                raise InvalidDocumentError(f'operations[{index}]: needs a string "id" and "body"')
            label = f"operations[{index}] (id {operation['id']!r}, name {operation.get('name')!r})"
            entries.append((label, operation["id"], operation.get("body")))
        return entries
    if isinstance(data, dict):
        return [(f"entry {key!r}", key, body) for key, body in data.items()]
    raise InvalidDocumentError(
        "neither an Apollo persisted-query manifest nor a Relay map of ID to document"
    )


def read_manifest(path: Path, schema: GraphQLSchema) -> list[PersistedDocument]:
    """Every document of a manifest, each checked; the error names the first bad entry.

    Raises:
        InvalidDocumentError: one line naming the file and the entry.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidDocumentError(f"manifest {path}: cannot read file ({exc.strerror})") from None
    except ValueError as exc:
        raise InvalidDocumentError(f"manifest {path}: not valid JSON ({exc})") from None
    try:
        entries = _manifest_entries(data)
    except InvalidDocumentError as exc:
        raise InvalidDocumentError(f"manifest {path}: {exc}") from None
    documents = []
    for label, doc_id, body in entries:
        if not isinstance(body, str):
            raise InvalidDocumentError(f"manifest {path}: {label}: the document must be a string")
        try:
            documents.append(checked_document(schema, body, doc_id))
        except InvalidDocumentError as exc:
            raise InvalidDocumentError(f"manifest {path}: {label}: {exc}") from None
    return documents


def _sha_from_document_id(document_id: str) -> str | None:
    if document_id.startswith(_DOCUMENT_ID_SHA):
        return document_id.removeprefix(_DOCUMENT_ID_SHA).lower()
    return None


@dataclass(frozen=True, slots=True)
class _Named:
    """How a request names its document, if it does."""

    apq_hash: str | None = None
    sha: str | None = None
    doc_id: str | None = None


def _named(params: Mapping[str, Any]) -> _Named:
    extensions = params.get("extensions") or {}
    persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
    if persisted is not None:
        sha = persisted.get("sha256Hash") if isinstance(persisted, dict) else None
        if not isinstance(sha, str) or not sha:
            raise DocumentRefused(
                DocumentCode.BAD_REQUEST,
                "extensions.persistedQuery needs a sha256Hash string",
            )
        return _Named(apq_hash=sha.lower())
    for key in ("documentId", "doc_id", "id"):
        value = params.get(key)
        if value is None:
            continue
        if not isinstance(value, str) or not value:
            raise DocumentRefused(DocumentCode.BAD_REQUEST, f"{key} must be a non-empty string")
        if key == "documentId" and (sha := _sha_from_document_id(value)) is not None:
            return _Named(sha=sha)
        return _Named(doc_id=value)
    return _Named()


class DocumentRegistry:
    """Finds the text a request runs, registers APQ documents, and enforces the mode.

    Args:
        store: Where APQ and CLI-added trusted documents live (shared when Redis).
        schema: What every document is validated against before it is registered.
        policy: Mode, APQ switch and TTL.
        manifests: Trusted documents loaded at start-up (kept in the process).
        parsed: The schema's parsed documents: each manifest document is parsed into
            it now, so no execution parses it again.
    """

    def __init__(
        self,
        store: CacheStore,
        schema: GraphQLSchema,
        policy: ApqPolicy,
        manifests: Iterable[PersistedDocument] = (),
        parsed: DocumentCache | None = None,
    ) -> None:
        self.store = store
        self.policy = policy
        self._schema = schema
        self._by_sha: dict[str, str] = {}
        self._by_id: dict[str, str] = {}
        for document in manifests:
            self._by_sha[document.sha256] = document.body
            self._by_id[document.id] = document.body
            if parsed is not None:
                parsed.register(document.body)
        self._logged: set[str] = set()

    @property
    def manifest_count(self) -> int:
        return len(self._by_sha)

    async def resolve(self, params: Mapping[str, Any]) -> str | None:
        """The document text to run for a request's parameters (``query``, ``extensions``,
        ``documentId``, ``doc_id``, ``id``, ``operationName``); None when there is none.

        Raises:
            DocumentRefused: unknown ID, hash mismatch, or a document trusted mode refuses.
        """
        query = params.get("query")
        named = _named(params)
        if named.apq_hash is not None:
            return await self._by_apq_hash(named.apq_hash, query, params.get("operationName"))
        if named.sha is not None or named.doc_id is not None:
            if isinstance(query, str) and query:
                raise DocumentRefused(
                    DocumentCode.BAD_REQUEST, "send either a document ID or a query, not both"
                )
            body = await (
                self._known_sha(named.sha) if named.sha else self._trusted_id(named.doc_id or "")
            )
            ref = f"sha256:{named.sha}" if named.sha else f"id {named.doc_id}"
            logger.debug("persisted document %s: %s", ref, "hit" if body else "not found")
            if body is None:
                raise DocumentRefused(DocumentCode.NOT_FOUND, "PersistedQueryNotFound")
            return body
        if not isinstance(query, str) or not query:
            return None
        await self._check_freeform(query, params.get("operationName"))
        return query

    async def _by_apq_hash(self, sha: str, query: Any, operation_name: Any) -> str:
        if isinstance(query, str):
            if sha256_of(query) != sha:
                raise DocumentRefused(
                    DocumentCode.HASH_MISMATCH,
                    "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query sent; "
                    "nothing was stored",
                )
            if await self._trusted_sha(sha) is not None:
                return query
            if self.policy.mode is DocumentMode.TRUSTED:
                raise self._not_trusted()
            self._note_unknown(sha, query, operation_name)
            if self.policy.apq:
                await self._remember(sha, query)
            return query
        body = await self._known_sha(sha, operation_name)
        logger.debug("APQ sha256:%s: %s", sha, "hit" if body is not None else "miss")
        if body is not None:
            return body
        if not self.policy.apq:
            raise DocumentRefused(
                DocumentCode.NOT_SUPPORTED, "PersistedQueryNotSupported", by_apq_hash=True
            )
        raise DocumentRefused(DocumentCode.NOT_FOUND, "PersistedQueryNotFound", by_apq_hash=True)

    async def _known_sha(self, sha: str, operation_name: Any = None) -> str | None:
        """A trusted document, else (APQ on, mode not trusted) one a client registered."""
        body = await self._trusted_sha(sha)
        if body is not None:
            return body
        if self.policy.apq and self.policy.mode is not DocumentMode.TRUSTED:
            (stored,) = await self.store.get_many([_APQ_SHA + sha])
            if stored is not None:
                body = stored.decode("utf-8")
                self._note_unknown(sha, body, operation_name)
        return body

    async def _remember(self, sha: str, query: str) -> None:
        try:
            checked_document(self._schema, query)
        except InvalidDocumentError:
            return  # Executing it reports why; an invalid document is never stored.
        await self.store.set_many(
            [(_APQ_SHA + sha, query.encode("utf-8"))], self.policy.apq_ttl_seconds
        )
        logger.debug("APQ sha256:%s: registered", sha)

    async def _check_freeform(self, query: str, operation_name: Any) -> None:
        if self.policy.mode is DocumentMode.OPEN:
            return
        sha = sha256_of(query)
        if await self._trusted_sha(sha) is not None:
            return
        if self.policy.mode is DocumentMode.TRUSTED:
            raise self._not_trusted()
        self._note_unknown(sha, query, operation_name)

    def _note_unknown(self, sha: str, body: str, operation_name: Any) -> None:
        """Log mode: report a document that is not a trusted one."""
        if self.policy.mode is not DocumentMode.LOG:
            return
        name = operation_name if isinstance(operation_name, str) else _operation_name(body)
        self._log_unknown(sha, name)

    def _log_unknown(self, sha: str, name: str | None) -> None:
        if sha in self._logged:
            return
        if len(self._logged) >= _LOGGED_LIMIT:
            self._logged.clear()
        self._logged.add(sha)
        logger.info("unregistered document sha256:%s (operation %s)", sha, name or "<anonymous>")

    @staticmethod
    def _not_trusted() -> DocumentRefused:
        return DocumentRefused(
            DocumentCode.NOT_TRUSTED,
            'this server only runs registered documents ([documents] mode = "trusted"); '
            "send a registered document's ID, or register the document",
        )

    async def _trusted_sha(self, sha: str) -> str | None:
        body = self._by_sha.get(sha)
        if body is None:
            (stored,) = await self.store.get_many([_TRUSTED_SHA + sha])
            body = stored.decode("utf-8") if stored is not None else None
        return body

    async def _trusted_id(self, doc_id: str) -> str | None:
        body = self._by_id.get(doc_id) or self._by_sha.get(doc_id.lower())
        if body is None:
            stored = await self.store.get_many(
                [_TRUSTED_ID + doc_id, _TRUSTED_SHA + doc_id.lower()]
            )
            found = next((value for value in stored if value is not None), None)
            body = found.decode("utf-8") if found is not None else None
        return body

    async def add_trusted(self, documents: Iterable[PersistedDocument]) -> int:
        """Write checked documents into the store, without expiry; returns how many can be
        read back (the store skips writes while it fails, rather than raising)."""
        items: list[tuple[str, bytes]] = []
        sha_keys: set[str] = set()
        for document in documents:
            body = document.body.encode("utf-8")
            sha_keys.add(_TRUSTED_SHA + document.sha256)
            items.append((_TRUSTED_SHA + document.sha256, body))
            if document.id != document.sha256:
                items.append((_TRUSTED_ID + document.id, body))
        await self.store.set_many(items, None)
        found = await self.store.get_many(sorted(sha_keys))
        return sum(value is not None for value in found)

    async def stored_trusted(self) -> list[PersistedDocument]:
        """The trusted documents in the store (not the manifests), by ID: the manifest ID
        where there was one, else the SHA-256."""
        keys = await self.store.keys(_TRUSTED_ID) + await self.store.keys(_TRUSTED_SHA)
        ids: dict[str, str] = {}  # body -> ID; the first key (a manifest ID) wins
        for key, value in zip(keys, await self.store.get_many(keys), strict=True):
            if value is not None:
                ids.setdefault(value.decode("utf-8"), key.rsplit(":", 1)[-1])
        documents = (PersistedDocument(i, body, _operation_name(body)) for body, i in ids.items())
        return sorted(documents, key=lambda document: document.id)
