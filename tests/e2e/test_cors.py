"""CORS through the real server: preflights answered for configured origins only."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from connectors.sandbox import Emulator, KomboTenant
from graph.config import ConfigError, ServerSettings, demo_config, parse_config
from tests.harness import GraphQLServer, kombo_source, run_server

APP = "https://app.example.com"
PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "content-type, apollographql-client-name",
}


@pytest.fixture
async def cors_server(emulator: Emulator, tenant: KomboTenant) -> AsyncIterator[GraphQLServer]:
    server = ServerSettings(cors_allow_origins=[APP, "http://localhost:*"])
    async with run_server([kombo_source("acme", emulator, tenant)], server=server) as running:
        yield running


@pytest.mark.parametrize("origin", [APP, "http://localhost:5173", "http://localhost"])
async def test_preflight_from_an_allowed_origin_is_answered(
    cors_server: GraphQLServer, origin: str
) -> None:
    headers = {"origin": origin, **PREFLIGHT}
    async with cors_server.session.options(cors_server.url + "/graphql", headers=headers) as r:
        assert r.status == 200
        assert r.headers["access-control-allow-origin"] == origin
        assert "POST" in r.headers["access-control-allow-methods"]
        allowed = r.headers["access-control-allow-headers"].lower()
        assert "apollographql-client-name" in allowed
        assert "access-control-allow-credentials" not in r.headers
    body = {"query": "{ __typename }"}
    async with cors_server.session.post(
        cors_server.url + "/graphql", json=body, headers={"origin": origin}
    ) as response:
        assert response.headers["access-control-allow-origin"] == origin
        assert await response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "http://localhost.evil.example:3000", "https://localhost:3000"],
)
async def test_preflight_from_another_origin_is_refused(
    cors_server: GraphQLServer, origin: str
) -> None:
    headers = {"origin": origin, **PREFLIGHT}
    async with cors_server.session.options(cors_server.url + "/graphql", headers=headers) as r:
        assert r.status == 400
        assert "access-control-allow-origin" not in r.headers
        assert r.content_type == "application/json"
        body = await r.json()
    assert body["errors"][0]["extensions"]["code"] == "CORS_NOT_ALLOWED"
    assert "origin" in body["errors"][0]["message"]
    async with cors_server.session.post(
        cors_server.url + "/graphql", json={"query": "{ __typename }"}, headers={"origin": origin}
    ) as response:
        assert "access-control-allow-origin" not in response.headers


async def test_without_origins_there_is_no_cors(server: GraphQLServer) -> None:
    headers = {"origin": APP, **PREFLIGHT}
    async with server.session.options(server.url + "/graphql", headers=headers) as response:
        assert response.status == 405
        assert "access-control-allow-origin" not in response.headers
        body = await response.json()
    assert body["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


def test_the_demo_allows_every_local_port() -> None:
    server = demo_config().server
    assert server.cors_allow_origins == ["http://localhost:*", "http://127.0.0.1:*"]
    assert server.cors_allow_credentials is False


BASE = '[[sources]]\nname = "a"\nkind = "kombo"\nbase_url = "http://x"\napi_key = "k"\n'
BASE += 'integration_id = "i"\n[server]\n'


@pytest.mark.parametrize(
    ("server", "message"),
    [
        (
            'cors_allow_origins = ["*"]\ncors_allow_credentials = true\n',
            "cannot be used with",
        ),
        ('cors_allow_origins = ["https://app.example.com/"]\n', "is not an origin"),
        ('cors_allow_origins = ["app.example.com"]\n', "is not an origin"),
        ('cors_allow_origins = ["https://*.example.com"]\n', "is not an origin"),
    ],
)
def test_bad_cors_settings_are_config_errors(server: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(BASE + server)


def test_star_and_credentials_with_listed_origins_are_accepted() -> None:
    assert parse_config(BASE + 'cors_allow_origins = ["*"]\n').server.cors_allow_origins == ["*"]
    listed = parse_config(
        BASE + 'cors_allow_origins = ["https://a.example:8443"]\ncors_allow_credentials = true\n'
    )
    assert listed.server.cors_allow_credentials is True
