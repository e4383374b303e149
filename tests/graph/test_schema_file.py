from __future__ import annotations

from pathlib import Path

from graph.cli import main
from graph.schema import schema_sdl

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_committed_schema_is_current() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == schema_sdl(), (
        "schema.graphql is stale: run `lms-graph export-schema -o schema.graphql`"
    )


def test_export_schema_writes_the_sdl(tmp_path: Path) -> None:
    target = tmp_path / "schema.graphql"
    assert main(["export-schema", "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == schema_sdl()


def test_canonical_names_are_in_the_schema() -> None:
    sdl = schema_sdl()
    for fragment in (
        "users(first: Int = null, after: String = null, last: Int = null, before: String = null",
        "progressions(first: Int = null",
        "node(id: ID!): Node",
        "nodes(ids: [ID!]!): [Node]!",
        "totalCount: Int",
        "scalar DateTime",
        "remoteData: JSON",
    ):
        assert fragment in sdl, fragment
