"""``lms-graph documents add FILE…`` and ``lms-graph documents list``.

Documents go into the shared store, the cache's Redis: every server instance reading it
runs them in trusted mode. With the memory backend a store lives only inside one process,
so ``add`` checks the files and says where to put them instead.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from redis.exceptions import RedisError

from graph.config import AppConfig, ConfigError
from graph.documents import (
    DocumentRegistry,
    InvalidDocumentError,
    PersistedDocument,
    checked_document,
    read_manifest,
)
from graph.schema import schema

__all__ = ["add_documents", "list_documents", "read_document_files"]


def read_document_files(files: Sequence[Path]) -> list[PersistedDocument]:
    """Documents of manifests (``.json``) and GraphQL files (anything else), each checked.

    Raises:
        InvalidDocumentError: one line naming the file (and the manifest entry).
    """
    documents: list[PersistedDocument] = []
    for path in files:
        if path.suffix == ".json":
            documents.extend(read_manifest(path, schema._schema))
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidDocumentError(f"{path}: cannot read file ({exc.strerror})") from None
        try:
            documents.append(checked_document(schema._schema, text))
        except InvalidDocumentError as exc:
            raise InvalidDocumentError(f"{path}: {exc}") from None
    return documents


def _registry(config: AppConfig) -> DocumentRegistry:
    return DocumentRegistry(config.documents_store(), schema._schema, config.documents.policy())


async def _add(registry: DocumentRegistry, documents: list[PersistedDocument]) -> int:
    try:
        return await registry.add_trusted(documents)
    finally:
        await registry.store.close()


def add_documents(config: AppConfig, files: Sequence[Path]) -> int:
    """Exit 0 when every document is stored, 1 when it could not be, 2 for a bad file."""
    try:
        documents = read_document_files(files)
    except InvalidDocumentError as exc:
        print(f"lms-graph: nothing stored: {exc}", file=sys.stderr)
        return 2
    if config.cache.backend != "redis":
        print(
            f"{len(documents)} documents are valid, but not stored: with cache backend "
            f"{config.cache.backend!r} the document store lives inside each server process. "
            'List the files in [documents] manifests, or use [cache] backend = "redis" '
            "to share documents between instances."
        )
        return 1
    registry = _registry(config)
    try:
        stored = asyncio.run(_add(registry, documents))
    except (RedisError, OSError) as exc:
        print(
            f"lms-graph: cannot reach {registry.store.description}: {type(exc).__name__}",
            file=sys.stderr,
        )
        return 1
    distinct = len({document.sha256 for document in documents})
    if stored < distinct:
        print(
            f"lms-graph: only {stored} of {distinct} documents reached "
            f"{registry.store.description}",
            file=sys.stderr,
        )
        return 1
    print(f"stored {stored} trusted documents in {registry.store.description}")
    return 0


async def _stored(registry: DocumentRegistry) -> list[PersistedDocument]:
    try:
        return await registry.stored_trusted()
    finally:
        await registry.store.close()


def list_documents(config: AppConfig) -> int:
    """Print ``ID  operation  where`` per registered document; exit 0, or 1 or 2 on error."""
    try:
        manifests = config.documents.load_manifests(schema._schema)
    except ConfigError as exc:
        print(f"lms-graph: {exc}", file=sys.stderr)
        return 2
    rows = [(d.id, d.name or "<anonymous>", "manifest") for d in manifests]
    if config.cache.backend == "redis":
        registry = _registry(config)
        try:
            stored = asyncio.run(_stored(registry))
        except (RedisError, OSError) as exc:
            print(
                f"lms-graph: cannot read {registry.store.description}: {type(exc).__name__}",
                file=sys.stderr,
            )
            return 1
        rows += [(d.id, d.name or "<anonymous>", registry.store.description) for d in stored]
    for doc_id, name, where in rows:
        print(f"{doc_id}  {name}  {where}")
    print(f"{len(rows)} trusted documents (mode {config.documents.mode.value})", file=sys.stderr)
    return 0
