"""Every GraphQL example in README.md runs on the demo's data and answers something."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from connectors.sandbox import demo_emulator
from graph.config import demo_config
from tests.harness import GraphQLServer, demo_sources, run_server

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLES = re.findall(r"```graphql\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


@pytest.fixture
async def demo() -> AsyncIterator[GraphQLServer]:
    """The embedded demo's data (its [emulator] seed and size), on free ports."""
    settings = demo_config().emulator
    assert settings is not None
    async with (
        demo_emulator(seed=settings.seed, users=settings.users) as emulator,
        run_server(demo_sources(emulator)) as server,
    ):
        yield server


def _lists(value: Any) -> list[list[Any]]:
    """Every list inside ``value``."""
    if isinstance(value, list):
        return [value, *(found for item in value for found in _lists(item))]
    if isinstance(value, dict):
        return [found for item in value.values() for found in _lists(item)]
    return []


def test_the_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("query", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
async def test_readme_example_works_on_the_demo(demo: GraphQLServer, query: str) -> None:
    data = await demo.data(query)
    assert all(value is not None for value in data.values()), data
    lists = _lists(data)
    assert lists, data
    assert lists[0], f"the example's first list is empty on the demo: {data}"


async def test_the_person_example_is_one_person_in_several_systems(demo: GraphQLServer) -> None:
    (query,) = [example for example in EXAMPLES if "person(email:" in example]
    person = (await demo.data(query))["person"]
    assert len(person["sources"]) > 1
    assert person["progressions"]["edges"]


async def test_the_course_example_shows_learners_and_versions(demo: GraphQLServer) -> None:
    (query,) = [example for example in EXAMPLES if "courses(first: 5" in example]
    courses = [edge["node"] for edge in (await demo.data(query))["courses"]["edges"]]
    assert all(course["revisions"]["edges"] for course in courses)
    assert any(course["progressions"]["edges"] for course in courses)


@pytest.mark.parametrize("doc", ["README.md", "DEVELOPERS.md"])
def test_the_docs_stand_alone(doc: str) -> None:
    text = (README.parent / doc).read_text(encoding="utf-8")
    assert "../shared" not in text
    assert "shared/vendors" not in text
    assert "shared/specs" not in text
