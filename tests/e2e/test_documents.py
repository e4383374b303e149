"""Persisted documents through the real server: Apollo's APQ exchange over POST and GET,
trusted documents from Apollo and Relay manifests, and the three modes."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from connectors.sandbox import Emulator, KomboTenant
from graph.app import create_app
from graph.config import AppConfig, ConfigError, DocumentsSettings, load_config, parse_config
from graph.documents import DocumentMode
from tests.e2e.test_http import APOLLO_ACCEPT, Answer, send
from tests.harness import GraphQLServer, kombo_source, run_server

USERS = "query FirstUsers { users(first: 2) { edges { node { id email } } } }"
COURSES = "query FirstCourses { courses(first: 1) { edges { node { id title } } } }"
UNREGISTERED = "query Other { users(first: 1) { totalCount } }"
APQ_ONLY = "query ApqOnly { users(first: 3) { totalCount } }"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq(sha256: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256}}


def apollo_manifest(*bodies: tuple[str, str]) -> dict[str, Any]:
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": sha(body), "body": body, "name": name, "type": "query"} for name, body in bodies
        ],
    }


@pytest.fixture
def manifests(tmp_path: Path) -> list[Path]:
    apollo = tmp_path / "apollo.json"
    apollo.write_text(json.dumps(apollo_manifest(("FirstUsers", USERS))), encoding="utf-8")
    relay = tmp_path / "persisted_queries.json"
    relay.write_text(json.dumps({"relay-courses-1": COURSES}), encoding="utf-8")
    return [apollo, relay]


@pytest.fixture
def server_with(emulator: Emulator, tenant: KomboTenant) -> Any:
    def start(**documents: Any) -> Any:
        return run_server(
            [kombo_source("acme", emulator, tenant)], documents=DocumentsSettings(**documents)
        )

    return start


@pytest.fixture
async def trusted(server_with: Any, manifests: list[Path]) -> AsyncIterator[GraphQLServer]:
    async with server_with(mode="trusted", manifests=manifests) as running:
        yield running


async def apollo_post(server: GraphQLServer, query: str | None, sha256: str) -> Answer:
    """What @apollo/client's persisted-query link POSTs: the hash, and the query on retry."""
    body: dict[str, Any] = {"operationName": None, "variables": {}, "extensions": apq(sha256)}
    if query is not None:
        body["query"] = query
    return await send(server, body=body, headers={"accept": APOLLO_ACCEPT})


async def apollo_get(server: GraphQLServer, sha256: str) -> Answer:
    """The link's hash-only GET (``useGETForHashedQueries``): JSON-encoded query params."""
    params = {"variables": "{}", "extensions": json.dumps(apq(sha256))}
    return await send(server, "GET", params=params, headers={"accept": APOLLO_ACCEPT})


def not_found(answer: Answer) -> None:
    assert answer.status == 200
    assert answer.body == {
        "errors": [
            {
                "message": "PersistedQueryNotFound",
                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
            }
        ]
    }
    assert answer.headers["cache-control"] == "private, no-cache, must-revalidate"


@pytest.mark.parametrize("hash_only", [apollo_post, apollo_get], ids=["post", "get"])
async def test_apq_miss_register_then_the_hash_alone_runs(
    server: GraphQLServer, hash_only: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="lms_graph.documents")
    digest = sha(USERS)
    if hash_only is apollo_post:
        not_found(await apollo_post(server, None, digest))
    else:
        not_found(await apollo_get(server, digest))
    registered = await apollo_post(server, USERS, digest)
    assert registered.status == 200
    expected = registered.body["data"]["users"]["edges"]
    assert len(expected) == 2
    again = await (
        apollo_post(server, None, digest)
        if hash_only is apollo_post
        else apollo_get(server, digest)
    )
    assert again.status == 200
    assert again.body == {"data": {"users": {"edges": expected}}}
    seen = [r.getMessage() for r in caplog.records if r.name == "lms_graph.documents"]
    assert seen == [f"APQ sha256:{digest}: {what}" for what in ("miss", "registered", "hit")]


async def test_an_apq_registration_is_found_by_document_id_too(server: GraphQLServer) -> None:
    registered = await apollo_post(server, USERS, sha(USERS))
    by_id = await send(server, body={"documentId": "sha256:" + sha(USERS)})
    assert by_id.body == registered.body
    empty = await send(server, body={"query": ""})
    assert (empty.status, empty.code) == (400, "MISSING_QUERY")


async def test_a_hash_that_is_not_the_querys_is_refused_and_nothing_is_stored(
    server: GraphQLServer,
) -> None:
    wrong = sha(COURSES)
    refused = await apollo_post(server, USERS, wrong)
    assert refused.status == 400
    assert refused.code == "PERSISTED_QUERY_HASH_MISMATCH"
    assert "data" not in refused.body
    not_found(await apollo_post(server, None, wrong))
    not_found(await apollo_post(server, None, sha(USERS)))


async def test_an_invalid_query_is_answered_but_never_stored(server: GraphQLServer) -> None:
    broken = "{ noSuchField }"
    answer = await apollo_post(server, broken, sha(broken))
    assert answer.code == "GRAPHQL_VALIDATION_FAILED"
    not_found(await apollo_post(server, None, sha(broken)))


async def test_apq_off_answers_not_supported_and_full_queries_still_run(server_with: Any) -> None:
    async with server_with(apq=False) as server:
        refused = await apollo_post(server, None, sha(USERS))
        assert refused.status == 200
        assert refused.body["errors"][0] == {
            "message": "PersistedQueryNotSupported",
            "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"},
        }
        ran = await apollo_post(server, USERS, sha(USERS))
        assert "errors" not in ran.body
        again = await apollo_post(server, None, sha(USERS))
        assert again.code == "PERSISTED_QUERY_NOT_SUPPORTED"


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param({"extensions": apq(sha(USERS))}, id="apollo-hash"),
        pytest.param({"documentId": "sha256:" + sha(USERS)}, id="documentId-sha256"),
        pytest.param({"documentId": sha(USERS)}, id="documentId-bare-apollo-id"),
        pytest.param({"doc_id": "relay-courses-1"}, id="relay-doc_id"),
        pytest.param({"id": "relay-courses-1"}, id="relay-id"),
        pytest.param({"documentId": "relay-courses-1"}, id="documentId-relay"),
        pytest.param({"query": USERS}, id="registered-text"),
    ],
)
async def test_trusted_mode_runs_registered_documents_however_named(
    trusted: GraphQLServer, request_: dict[str, Any]
) -> None:
    answer = await send(trusted, body={"variables": {}, **request_})
    assert answer.status == 200, answer.body
    assert "errors" not in answer.body
    (edges,) = [value["edges"] for value in answer.body["data"].values()]
    assert edges


@pytest.mark.parametrize(
    "params",
    [{"doc_id": "relay-courses-1"}, {"documentId": "sha256:" + sha(USERS), "variables": "{}"}],
)
async def test_trusted_documents_run_over_get(
    trusted: GraphQLServer, params: dict[str, str]
) -> None:
    answer = await send(trusted, "GET", params=params, headers={"accept": APOLLO_ACCEPT})
    assert answer.status == 200, answer.body
    assert "errors" not in answer.body


@pytest.mark.parametrize(
    ("request_", "status", "code"),
    [
        pytest.param({"query": UNREGISTERED}, 403, "PERSISTED_QUERY_REQUIRED", id="freeform"),
        pytest.param(
            {"query": UNREGISTERED, "extensions": apq(sha(UNREGISTERED))},
            403,
            "PERSISTED_QUERY_REQUIRED",
            id="apq-register",
        ),
        pytest.param(
            {"extensions": apq(sha(UNREGISTERED))}, 200, "PERSISTED_QUERY_NOT_FOUND", id="apq-hash"
        ),
        pytest.param({"doc_id": "unknown"}, 404, "PERSISTED_QUERY_NOT_FOUND", id="doc_id"),
        pytest.param(
            {"documentId": "sha256:" + sha(UNREGISTERED)},
            404,
            "PERSISTED_QUERY_NOT_FOUND",
            id="documentId",
        ),
    ],
)
async def test_trusted_mode_refuses_anything_else_and_runs_nothing(
    trusted: GraphQLServer, emulator: Emulator, request_: dict[str, Any], status: int, code: str
) -> None:
    before = emulator.count()
    answer = await send(trusted, body=request_)
    assert (answer.status, answer.code) == (status, code), answer.body
    assert "data" not in answer.body
    assert emulator.count() == before
    # The refused APQ registration did not register it either.
    not_found(await apollo_post(trusted, None, sha(UNREGISTERED)))


async def test_log_mode_runs_unknown_documents_and_logs_each_once(
    server_with: Any, manifests: list[Path], caplog: pytest.LogCaptureFixture
) -> None:
    async with server_with(mode="log", manifests=manifests) as server:
        with caplog.at_level(logging.INFO, logger="lms_graph.documents"):
            for _ in range(3):
                assert "errors" not in await server.post(UNREGISTERED)
                assert "errors" not in await server.post(USERS)
                registered = await apollo_post(server, APQ_ONLY, sha(APQ_ONLY))
                assert "errors" not in registered.body
                assert "errors" not in (await apollo_post(server, None, sha(APQ_ONLY))).body
    lines = [r.getMessage() for r in caplog.records if r.name == "lms_graph.documents"]
    assert lines == [
        f"unregistered document sha256:{sha(UNREGISTERED)} (operation Other)",
        f"unregistered document sha256:{sha(APQ_ONLY)} (operation ApqOnly)",
    ]


def test_a_manifest_with_an_invalid_document_stops_the_start(
    tmp_path: Path, emulator: Emulator, tenant: KomboTenant
) -> None:
    manifest = tmp_path / "bad.json"
    bad = apollo_manifest(("FirstUsers", USERS), ("Broken", "query Broken { noSuchField }"))
    manifest.write_text(json.dumps(bad), encoding="utf-8")
    config = AppConfig(
        sources=[kombo_source("acme", emulator, tenant)],
        documents=DocumentsSettings(mode=DocumentMode.TRUSTED, manifests=[manifest]),
    )
    with pytest.raises(ConfigError) as raised:
        create_app(config)
    message = str(raised.value)
    assert "\n" not in message
    assert str(manifest) in message
    assert "operations[1]" in message
    assert "'Broken'" in message
    assert "noSuchField" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"relay-1": "query { nope }"}', "entry 'relay-1': does not validate"),
        ('{"relay-1": "query {"}', "entry 'relay-1': does not parse"),
        ('{"relay-1": 7}', "entry 'relay-1': the document must be a string"),
        ("[1, 2]", "neither an Apollo persisted-query manifest nor a Relay map"),
        ("{", "not valid JSON"),
    ],
)
def test_bad_relay_maps_are_named_in_one_line(tmp_path: Path, content: str, expected: str) -> None:
    (tmp_path / "queries.json").write_text(content, encoding="utf-8")
    config = tmp_path / "lms.toml"
    config.write_text(
        '[documents]\nmanifests = ["queries.json"]\n[[sources]]\nname = "a"\nkind = "kombo"\n'
        'base_url = "http://127.0.0.1:1/v1"\napi_key = "k"\nintegration_id = "i"\n',
        encoding="utf-8",
    )
    loaded = load_config(config)  # the relative path is read next to the config file
    with pytest.raises(ConfigError, match=expected):
        create_app(loaded)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('mode = "strict"', "documents.mode"),
        ("apq_ttl_seconds = 0", "documents.apq_ttl_seconds"),
        ('manifest = ["x.json"]', "documents.manifest"),
    ],
)
def test_bad_documents_settings_are_config_errors(table: str, message: str) -> None:
    text = '[[sources]]\nname = "a"\nkind = "kombo"\nbase_url = "http://x"\napi_key = "k"\n'
    text += f'integration_id = "i"\n[documents]\n{table}\n'
    with pytest.raises(ConfigError, match=message):
        parse_config(text)
