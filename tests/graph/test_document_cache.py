"""The schema's parsed documents: parsed and validated once, never letting a document
through that an execution without the cache would refuse."""

from __future__ import annotations

import pytest

from graph.config import LimitsSettings
from graph.document_cache import MAX_CACHED_CHARACTERS
from graph.documents import ApqPolicy, DocumentRegistry, checked_document
from graph.schema import build_schema
from resolvers.cache import MemoryStore

TYPES = "query Types { __schema { queryType { name } } }"
#: Six levels deep; run without sources, so it fails in execution where it is let through.
DEEP = "query Deep { users { edges { node { progressions { edges { node { id } } } } } } }"
TWO = "query A { __typename } query B { __schema { queryType { name } } }"


def codes(result: object) -> list[str | None]:
    errors = getattr(result, "errors", None) or []
    return [(error.extensions or {}).get("code") for error in errors]


async def test_a_repeated_document_is_parsed_and_validated_once() -> None:
    schema = build_schema()
    for _ in range(3):
        result = await schema.execute(TYPES)
        assert result.errors is None
        assert result.data == {"__schema": {"queryType": {"name": "Query"}}}
    assert (schema.documents.parses, schema.documents.validations) == (1, 1)


async def test_a_document_that_does_not_validate_is_never_kept() -> None:
    schema = build_schema()
    for _ in range(2):
        result = await schema.execute("{ noSuchField }")
        assert result.errors
        assert "noSuchField" in result.errors[0].message
    assert (schema.documents.parses, schema.documents.validations, len(schema.documents)) == (
        2,
        2,
        0,
    )


async def test_a_document_that_does_not_parse_keeps_its_error_and_code() -> None:
    schema = build_schema(LimitsSettings(max_tokens=100))
    for _ in range(2):
        assert codes(await schema.execute("{ " + "a " * 101 + "}")) == ["TOO_MANY_TOKENS"]
        assert (await schema.execute("{ a ")).errors
    assert len(schema.documents) == 0


async def test_each_schema_judges_a_document_by_its_own_limits() -> None:
    lenient, strict = build_schema(), build_schema(LimitsSettings(max_depth=4))
    assert "QUERY_TOO_DEEP" not in codes(await lenient.execute(DEEP))
    for _ in range(2):
        assert codes(await strict.execute(DEEP)) == ["QUERY_TOO_DEEP"]
    assert "QUERY_TOO_DEEP" not in codes(await lenient.execute(DEEP))
    assert lenient.documents.validations == 1
    assert (strict.documents.validations, len(strict.documents)) == (2, 0)


async def test_a_kept_document_runs_whichever_operation_is_named() -> None:
    schema = build_schema()
    assert (await schema.execute(TWO, operation_name="A")).data == {"__typename": "Query"}
    b = await schema.execute(TWO, operation_name="B")
    assert b.data == {"__schema": {"queryType": {"name": "Query"}}}
    assert schema.documents.parses == 1


async def test_a_registered_document_is_parsed_at_registration_only() -> None:
    schema = build_schema()
    manifest = checked_document(schema._schema, TYPES, "types-1")
    registry = DocumentRegistry(
        MemoryStore(max_entries=10),
        schema._schema,
        ApqPolicy(),
        [manifest],
        parsed=schema.documents,
    )
    for _ in range(3):
        text = await registry.resolve({"documentId": "types-1"})
        assert text == TYPES
        assert (await schema.execute(text)).errors is None
    assert (schema.documents.parses, schema.documents.validations) == (0, 1)


async def test_a_registered_document_over_the_limits_is_still_refused() -> None:
    schema = build_schema(LimitsSettings(max_depth=4))
    schema.documents.register(DEEP)  # parses; the limits are the execution's to apply
    for _ in range(2):
        assert codes(await schema.execute(DEEP)) == ["QUERY_TOO_DEEP"]
    assert schema.documents.parses == 0


@pytest.mark.parametrize("size", [3])
async def test_the_least_recently_used_document_goes_first(size: int) -> None:
    schema = build_schema()
    schema.documents.maxsize = size
    texts = [f"query Q{i} {{ __typename }}" for i in range(size + 1)]
    for text in texts[:size]:
        await schema.execute(text)
    await schema.execute(texts[0])  # now the most recently used
    await schema.execute(texts[size])  # evicts texts[1]
    assert [schema.documents.document(t) is not None for t in texts] == [
        True,
        False,
        True,
        True,
    ]


async def test_long_documents_are_not_kept() -> None:
    schema = build_schema()
    text = "{ __typename }" + " " * MAX_CACHED_CHARACTERS
    await schema.execute(text)
    assert schema.documents.document(text) is None
