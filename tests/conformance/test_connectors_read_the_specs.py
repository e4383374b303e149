"""The connectors read every record the vendors' OpenAPI documents allow.

For every endpoint a connector reads, bodies are generated from the document's response
schema (hypothesis-jsonschema: nullable and optional fields come and go, types vary as
far as the schema lets them; properties no payload model declares are left out, since
the models ignore them whatever they hold, and they make generation minutes slower),
plus one body built from the schema's own examples (which
vendors sometimes write against their own types: StackOne's ``raw_value`` example is the
number 87 on a string field). Each body goes through the connector's validator and
mapper: the envelope is always read, every record with the IDs the connector needs is
kept and mapped, and exactly the others are skipped and counted.

Deterministic (``derandomize``) and bounded: a fixed number of examples per endpoint.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from tests.conformance.parsing import ENDPOINTS, READ_FIELDS, Endpoint, parse
from tests.conformance.specs import example_of, load_spec

ALL = [endpoint for endpoints in ENDPOINTS.values() for endpoint in endpoints]
EXAMPLES_PER_ENDPOINT = 15


def strategy_for(endpoint: Endpoint) -> st.SearchStrategy[Any]:
    keep = READ_FIELDS[endpoint.vendor]
    return from_schema(load_spec(endpoint.vendor).inlined(endpoint.path, keep=keep))


@pytest.mark.parametrize("endpoint", ALL, ids=[e.name for e in ALL])
def test_every_record_the_spec_allows_is_read(endpoint: Endpoint) -> None:
    strategy = strategy_for(endpoint)

    @settings(
        max_examples=EXAMPLES_PER_ENDPOINT,
        derandomize=True,
        database=None,
        # No shrinking: a failure is reported as generated; shrinking these documents'
        # large bodies takes minutes.
        phases=[Phase.explicit, Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def read(body: Any) -> None:
        parsed = parse(endpoint, body)
        assert parsed.kept == parsed.usable
        assert parsed.skipped == parsed.expected_skips

    read()


@pytest.mark.parametrize("leaves", [False, True], ids=["examples", "leaf-examples"])
@pytest.mark.parametrize("endpoint", ALL, ids=[e.name for e in ALL])
def test_the_specs_own_examples_are_read(endpoint: Endpoint, leaves: bool) -> None:
    body = example_of(load_spec(endpoint.vendor).inlined(endpoint.path), leaves=leaves)
    parsed = parse(endpoint, body)
    assert parsed.records >= 1
    assert parsed.kept == parsed.usable
    assert parsed.skipped == parsed.expected_skips


def test_records_without_an_id_are_generated_and_skipped() -> None:
    """The generator does produce what the tolerance is for: StackOne ``id: null``."""
    (users,) = [e for e in ENDPOINTS["stackone"] if e.path == "/unified/lms/users"]
    body = {"data": [{"id": None, "name": "A"}, {"name": "B"}, {"id": "u1", "name": "C D"}]}
    parsed = parse(users, body)
    assert (parsed.kept, parsed.skipped, parsed.expected_skips) == (1, 2, 2)
