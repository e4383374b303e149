"""The subgraph schema: its keys, its committed SDL, the plain schema left without any
federation, ``_service`` under ``introspection = false``, and the price of ``_entities``."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from graphql import OperationDefinitionNode, parse

from connectors.settings import build_connector
from graph.cli import main
from graph.config import DEMO_CONFIG, ConfigError, demo_config, parse_config
from graph.cost import estimate_cost
from graph.federation import check_keyed
from graph.schema import build_schema, schema, schema_sdl
from resolvers.sources import SourceRegistry

ROOT = Path(__file__).resolve().parents[2]
SUBGRAPH_FILE = ROOT / "schema.federation.graphql"
KOMBO, ABSORB, SKILLJAR, STACKONE = "kombo-demo", "absorb-demo", "skilljar-demo", "stackone-demo"
subgraph = build_schema(federation=True)


def type_line(sdl: str, name: str) -> str:
    (line,) = [line for line in sdl.splitlines() if line.startswith(f"type {name} ")]
    return line


def test_committed_subgraph_sdl_is_current() -> None:
    assert SUBGRAPH_FILE.read_text(encoding="utf-8") == schema_sdl(subgraph), (
        "schema.federation.graphql is stale: run "
        "`lms-graph export-schema --federation -o schema.federation.graphql`"
    )


def test_export_schema_federation_writes_the_subgraph_sdl(tmp_path: Path) -> None:
    target = tmp_path / "subgraph.graphql"
    assert main(["export-schema", "--federation", "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == schema_sdl(subgraph)


@pytest.mark.parametrize(
    ("name", "keys"),
    [
        ("Course", ["id"]),
        ("Revision", ["id"]),
        ("Skill", ["id"]),
        ("Progression", ["id"]),
        ("Provider", ["id"]),
        ("User", ["id", "email"]),
    ],
)
def test_entities_are_keyed_by_id_and_users_by_email_too(name: str, keys: list[str]) -> None:
    line = type_line(schema_sdl(subgraph), name)
    assert re.findall(r'@key\(fields: "(\w+)"', line) == keys
    assert line.startswith(f"type {name} implements Node & SourceRecord @key")


def test_subgraph_sdl_declares_federation_2() -> None:
    sdl = schema_sdl(subgraph)
    assert sdl.startswith(
        'schema @link(url: "https://specs.apollo.dev/federation/v2.0", '
        'import: ["@key", "@shareable"])'
    )
    assert "  _service: _Service!\n" in sdl
    assert "  _entities(representations: [_Any!]!): [_Entity]!\n" in sdl
    assert "union _Entity = Course | Progression | Provider | Revision | Skill | User\n" in sdl
    assert "type PageInfo @shareable {" in sdl
    # Everything else is the plain schema's.
    stripped = re.sub(r" @(key|shareable)\([^)]*\)| @shareable", "", sdl)
    definitions = re.split(r"\n\n(?=\S)", schema_sdl())
    assert len(definitions) > 30
    for definition in definitions:
        if "type Query {" not in definition:
            assert definition in stripped


def test_the_plain_schema_has_no_federation() -> None:
    sdl = schema_sdl()
    for word in ("@key", "@link", "@shareable", "_service", "_entities", "_Any", "_Entity"):
        assert word not in sdl
    graphql_schema = schema._schema
    assert graphql_schema.query_type is not None
    assert not {"_service", "_entities"} & set(graphql_schema.query_type.fields)
    assert not {"key", "link", "shareable"} & {d.name for d in graphql_schema.directives}
    assert not {"_Any", "_Entity", "_Service", "_FieldSet"} & set(graphql_schema.type_map)


def test_keys_lost_in_the_build_are_caught() -> None:
    check_keyed(subgraph.schema_converter.type_map)
    with pytest.raises(RuntimeError, match="lost the @key directives of Course"):
        check_keyed(schema.schema_converter.type_map)


async def test_service_is_refused_where_introspection_is() -> None:
    closed = build_schema(introspection=False, federation=True)
    result = await closed.execute("{ _service { sdl } }")
    assert result.errors is not None
    assert [e.extensions for e in result.errors] == [{"code": "INTROSPECTION_DISABLED"}]
    assert (await subgraph.execute("{ _service { sdl } }")).data == {
        "_service": {"sdl": schema_sdl(subgraph).rstrip("\n")}
    }


def _id(type_name: str, source: str, key: str = "42") -> str:
    return base64.b64encode(f"{type_name}:{source}:{key}".encode()).decode()


@pytest.fixture(scope="module")
def registry() -> SourceRegistry:
    return SourceRegistry([build_connector(source) for source in demo_config().sources])


def price(registry: SourceRegistry, representations: list[object]) -> dict[str, int]:
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id } } }"
    (operation,) = [d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode)]
    return estimate_cost(subgraph._schema, operation, {}, {"r": representations}, registry)


def test_entities_are_priced_as_their_look_ups(registry: SourceRegistry) -> None:
    by_id = [
        {"__typename": "User", "id": _id("User", KOMBO)},
        {"__typename": "Course", "id": _id("Course", STACKONE)},
        {"__typename": "User", "id": _id("User", "unknown")},
        {"__typename": "User", "id": "junk"},
        "junk",
    ]
    assert price(registry, by_id) == {KOMBO: 1, STACKONE: 1}
    by_email = [{"__typename": "User", "email": f"u{i}@example.com"} for i in range(2)] + [
        {"__typename": "User", "id": None, "email": "u2@example.com"}
    ]
    # Kombo and Absorb batch email look-ups; Skilljar and StackOne make one call each.
    assert price(registry, by_id + by_email) == {KOMBO: 2, ABSORB: 1, SKILLJAR: 3, STACKONE: 4}
    assert price(registry.scoped([SKILLJAR]), by_id + by_email) == {SKILLJAR: 3}
    many = [{"__typename": "User", "id": _id("User", SKILLJAR, str(i))} for i in range(250)]
    assert price(registry, many) == {SKILLJAR: 250}


def test_the_config_switch() -> None:
    assert demo_config().server.federation is False
    on = parse_config(DEMO_CONFIG.replace("[server]\n", "[server]\nfederation = true\n"))
    assert on.server.federation is True
    with pytest.raises(ConfigError, match="federation"):
        parse_config(DEMO_CONFIG.replace("[server]\n", '[server]\nfederation = "maybe"\n'))
