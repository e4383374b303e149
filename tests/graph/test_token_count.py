"""The fast token count agrees with graphql-core's `max_tokens` wherever it refuses."""

from __future__ import annotations

import pytest
from graphql import GraphQLSyntaxError, get_introspection_query, parse

from graph.limits import more_tokens_than
from tests.harness import CANONICAL_QUERY

DOCUMENTS = [
    CANONICAL_QUERY,
    get_introspection_query(descriptions=True),
    '{ a(x: "str \\" ing", y: -1.5e10, z: [1, 2, 3], w: {k: true, n: null}) # note\n'
    "  { b ...F } } fragment F on T { c @d(e: $f) }",
    'query Q($a: [Int!]! = [1]) { x(s: """block " "" \\""" still""") #c1\n#c2\n { y } }',
    "{ a, b,,, c }\ufeff",
]


def parser_count(document: str) -> int:
    """The smallest max_tokens graphql-core parses ``document`` under."""
    low, high = 1, 100_000
    while low < high:
        middle = (low + high) // 2
        try:
            parse(document, max_tokens=middle)
        except GraphQLSyntaxError as error:
            if "tokens" not in error.message:
                raise
            low = middle + 1
        else:
            high = middle
    return low


@pytest.mark.parametrize("document", DOCUMENTS)
def test_the_same_boundary_as_the_parser(document: str) -> None:
    tokens = parser_count(document)
    assert not more_tokens_than(document, tokens)
    assert more_tokens_than(document, tokens - 1)
