"""GraphQL over HTTP through the real server: media types, status codes, and a GraphQL
error body with ``extensions.code`` for every refused request."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, cast

import pytest
from multidict import CIMultiDict

from graph.http import GraphQLOverHTTP, negotiate
from tests.harness import GraphQLServer

GRAPHQL_RESPONSE = "application/graphql-response+json"
APOLLO_ACCEPT = "application/graphql-response+json,application/json;q=0.9"


@dataclass
class Answer:
    status: int
    media: str
    body: dict[str, Any]
    headers: CIMultiDict[str]

    @property
    def code(self) -> str:
        (error,) = self.body["errors"]
        code: str = error["extensions"]["code"]
        return code


async def send(
    server: GraphQLServer,
    method: str = "POST",
    *,
    body: Any = None,
    raw: bytes | None = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Answer:
    sent = dict(headers or {})
    data = json.dumps(body).encode() if body is not None else raw
    if data is not None:
        sent.setdefault("content-type", "application/json")
    skip = ["content-type"] if sent.get("content-type") == "" else []
    if skip:
        del sent["content-type"]
    async with server.session.request(
        method,
        server.url + "/graphql",
        data=data,
        params=params,
        headers=sent,
        skip_auto_headers=skip,
    ) as response:
        text = await response.text()
        media = response.headers.get("content-type", "").split(";")[0]
        assert media in {"application/json", GRAPHQL_RESPONSE}, (media, text)
        return Answer(response.status, media, json.loads(text), CIMultiDict(response.headers))


REFUSED = [
    pytest.param({"raw": b'{ "not a JSON'}, 400, "INVALID_JSON", id="bad-json"),
    pytest.param({"raw": b"\xff\xfe"}, 400, "INVALID_JSON", id="not-utf8"),
    pytest.param({"raw": b"null"}, 400, "BAD_REQUEST", id="bare-null"),
    pytest.param({"raw": b"123"}, 400, "BAD_REQUEST", id="bare-number"),
    pytest.param({"raw": b'"x"'}, 400, "BAD_REQUEST", id="bare-string"),
    pytest.param({"raw": b"[]"}, 400, "BAD_REQUEST", id="batch"),
    pytest.param({"raw": b""}, 400, "MISSING_QUERY", id="empty-body"),
    pytest.param({"body": {"qeury": "{ __typename }"}}, 400, "MISSING_QUERY", id="no-query"),
    pytest.param({"body": {"query": 0}}, 400, "BAD_REQUEST", id="query-number"),
    pytest.param(
        {"body": {"query": "{ __typename }", "operationName": ["a"]}},
        400,
        "BAD_REQUEST",
        id="operation-name-array",
    ),
    pytest.param(
        {"body": {"query": "{ __typename }", "variables": "x"}},
        400,
        "BAD_REQUEST",
        id="variables-string",
    ),
    pytest.param(
        {"body": {"query": "{ __typename }", "extensions": 1}},
        400,
        "BAD_REQUEST",
        id="extensions-number",
    ),
    pytest.param(
        {"body": {"query": "query A { __typename } query B { __typename }"}},
        400,
        "OPERATION_NAME_REQUIRED",
        id="two-operations-unnamed",
    ),
    pytest.param(
        {"body": {"query": "query A { __typename }", "operationName": "B"}},
        400,
        "UNKNOWN_OPERATION",
        id="unknown-operation-name",
    ),
    pytest.param(
        {"raw": b'{"query": "{ __typename }"}', "headers": {"content-type": "text/plain"}},
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        id="text-plain",
    ),
    pytest.param(
        {"raw": b'{"query": "{ __typename }"}', "headers": {"content-type": ""}},
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        id="no-content-type",
    ),
    pytest.param(
        {"body": {"doc_id": "no-such-document"}}, 404, "PERSISTED_QUERY_NOT_FOUND", id="doc-id"
    ),
    pytest.param({"method": "PUT"}, 405, "METHOD_NOT_ALLOWED", id="put"),
    pytest.param({"method": "OPTIONS"}, 405, "METHOD_NOT_ALLOWED", id="options-without-cors"),
    pytest.param(
        {"method": "GET", "params": {"query": "mutation { __typename }"}},
        405,
        "METHOD_NOT_ALLOWED",
        id="mutation-over-get",
    ),
    pytest.param(
        {"method": "GET", "params": {"query": "{ __typename }", "variables": "[1]"}},
        400,
        "BAD_REQUEST",
        id="get-variables-array",
    ),
    pytest.param(
        {"method": "GET", "params": {"query": "{ __typename }", "extensions": "{"}},
        400,
        "INVALID_JSON",
        id="get-extensions-bad-json",
    ),
    pytest.param(
        {"method": "GET", "headers": {"accept": "application/json"}},
        400,
        "MISSING_QUERY",
        id="get-without-query",
    ),
]


@pytest.mark.parametrize("accept", [APOLLO_ACCEPT, "application/json"])
@pytest.mark.parametrize(("request_", "status", "code"), REFUSED)
async def test_every_refused_request_gets_a_graphql_error_with_a_code(
    server: GraphQLServer,
    caplog: pytest.LogCaptureFixture,
    request_: dict[str, Any],
    status: int,
    code: str,
    accept: str,
) -> None:
    request = dict(request_)
    request["headers"] = {"accept": accept, **request.get("headers", {})}
    with caplog.at_level(logging.DEBUG):
        answer = await send(server, **request)
    assert (answer.status, answer.code) == (status, code), answer.body
    assert answer.media == negotiate(request["headers"]["accept"])
    assert "data" not in answer.body
    assert answer.body["errors"][0]["message"]
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    if status == 405:
        assert answer.headers["allow"] in {"GET, POST", "POST"}


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("application/json", "application/json"),
        (APOLLO_ACCEPT, GRAPHQL_RESPONSE),
        # urql's default
        (
            "application/graphql-response+json, application/graphql+json, application/json, "
            "text/event-stream, multipart/mixed",
            GRAPHQL_RESPONSE,
        ),
        ("application/json, application/graphql-response+json;q=0.5", "application/json"),
        ("text/html", "application/json"),
    ],
)
async def test_the_response_media_type_follows_accept(
    server: GraphQLServer, accept: str | None, media: str
) -> None:
    headers = {"accept": accept} if accept is not None else {}
    answer = await send(server, body={"query": "{ __typename }"}, headers=headers)
    assert (answer.status, answer.media) == (200, media)
    assert answer.body == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"query": "{"}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ noSuchField }"}, "GRAPHQL_VALIDATION_FAILED"),
        (
            {"query": "query Q($first: Int!) { users(first: $first) { totalCount } }"},
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ],
)
@pytest.mark.parametrize(("accept", "status"), [(APOLLO_ACCEPT, 400), ("application/json", 200)])
async def test_request_errors_are_400_only_with_the_graphql_media_type(
    server: GraphQLServer, body: dict[str, Any], code: str, accept: str, status: int
) -> None:
    answer = await send(server, body=body, headers={"accept": accept})
    assert answer.status == status
    assert "data" not in answer.body
    assert answer.body["errors"][0]["extensions"]["code"] == code


async def test_execution_errors_answer_200_with_data_under_either_media_type(
    server: GraphQLServer,
) -> None:
    query = '{ node(id: "bm90LWEtZ2xvYmFsLWlk") { id } }'
    for accept in (APOLLO_ACCEPT, "application/json"):
        answer = await send(server, body={"query": query}, headers={"accept": accept})
        assert answer.status == 200
        assert "data" in answer.body
        assert answer.body["errors"][0]["extensions"]["code"]


async def test_queries_run_over_get_with_json_variables(server: GraphQLServer) -> None:
    params = {
        "query": "query Q($first: Int!) { users(first: $first) { edges { node { id } } } }",
        "variables": json.dumps({"first": 2}),
        "operationName": "Q",
    }
    answer = await send(server, "GET", params=params, headers={"accept": APOLLO_ACCEPT})
    assert (answer.status, answer.media) == (200, GRAPHQL_RESPONSE)
    assert len(answer.body["data"]["users"]["edges"]) == 2


async def test_named_operation_of_several_runs(server: GraphQLServer) -> None:
    body = {"query": "query A { __typename } query B { b: __typename }", "operationName": "B"}
    answer = await send(server, body=body)
    assert answer.body == {"data": {"b": "Query"}}


async def test_non_ascii_answers_are_utf_8_and_decode_to_the_same_text(
    server: GraphQLServer,
) -> None:
    """Bodies are UTF-8 as their charset says (orjson writes no \\u escapes): the bytes of
    the standard library's ``ensure_ascii=False``, and a client reads the same text."""
    name = "école-😀-</script>"
    query = "query($s: [String!]) { users(first: 1, sources: $s) { totalCount } }"
    async with server.session.post(
        server.url + "/graphql", json={"query": query, "variables": {"s": [name]}}
    ) as response:
        raw = await response.read()
        assert response.headers["content-type"] == "application/json; charset=utf-8"
    body = json.loads(raw.decode("utf-8"))
    (error,) = body["errors"]
    assert repr(name) in error["message"]
    assert name.encode("utf-8") in raw
    assert raw == json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


@pytest.mark.parametrize(
    "value",
    [{"a": "é😀", "b": [1, 2.5, None, True]}, {"big": 2**70}, {"lone": "\ud800"}],
    ids=["unicode", "beyond-64-bits", "lone-surrogate"],
)
def test_the_body_encoder_writes_what_the_standard_library_reads(value: Any) -> None:
    """What orjson refuses (vendor data in ``remoteData``) is still encoded."""
    encoded = GraphQLOverHTTP.encode_json(cast(Any, None), value)
    assert json.loads(encoded) == value
