"""[[clients]], [server] and cursors through the real server: keys, per-client sources
(data, IDs, `sources`, cache), introspection, the cursor secret, the loopback rule."""

from __future__ import annotations

import base64
import logging
import tomllib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.sandbox import Emulator
from graph.cli import main
from graph.clients import key_sha256
from graph.config import ClientSettings, GraphiQLSettings, ServerSettings
from graph.graphiql import pinned_assets
from tests.harness import CACHES, DEMO_SOURCES, GraphQLServer, demo_sources, run_server

KOMBO, ABSORB = DEMO_SOURCES["kombo"], DEMO_SOURCES["absorb"]
ADMIN_KEY, KOMBO_KEY = "admin-key-for-tests", "kombo-only-key-for-tests"
CLIENTS = [
    ClientSettings(name="admin", key_sha256=key_sha256(ADMIN_KEY)),
    ClientSettings(name="kombo-app", key_sha256=key_sha256(KOMBO_KEY), sources=[KOMBO]),
]
USERS = "{ users(first: 250) { edges { node { id source email } } } }"


@pytest.fixture
async def guarded(everywhere: Emulator) -> AsyncIterator[GraphQLServer]:
    # The memory cache on purpose: one test checks a scoped client reads the admin's entries.
    sources = demo_sources(everywhere, max_attempts=1)
    async with run_server(sources, CACHES["memory"], clients=CLIENTS) as running:
        yield running


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors", [])]


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-key", f"Basic {ADMIN_KEY}", "Bearer"]
)
async def test_401_without_a_valid_key(
    guarded: GraphQLServer, everywhere: Emulator, authorization: str | None
) -> None:
    everywhere.clear_requests()
    headers = {"Authorization": authorization} if authorization else {}
    status, body, response_headers = await guarded.send(USERS, headers=headers)
    assert status == 401
    assert codes(body) == ["UNAUTHENTICATED"]
    assert response_headers["WWW-Authenticate"].startswith("Bearer")
    assert everywhere.count() == 0
    async with guarded.session.get(guarded.url + "/healthz", headers=headers) as response:
        assert response.status == 200  # liveness stays open


async def test_graphiql_page_loads_without_a_key(guarded: GraphQLServer) -> None:
    page = {"Accept": "text/html"}
    async with guarded.session.get(guarded.url + "/graphql", headers=page) as response:
        assert response.status == 200
        assert "graphiql" in (await response.text()).lower()
    # a query over GET needs the key like any other, whatever names it
    for params in ({"query": "{ sources { name } }"}, {"documentId": "sha256:00"}, {"x": "1"}):
        async with guarded.session.get(
            guarded.url + "/graphql", params=params, headers=page
        ) as response:
            assert response.status == 401, params


async def test_a_valid_key_reads_its_sources(guarded: GraphQLServer) -> None:
    admin = await guarded.with_key(ADMIN_KEY).data("{ sources { name } }")
    assert [s["name"] for s in admin["sources"]] == list(DEMO_SOURCES.values())
    mine = await guarded.with_key(KOMBO_KEY).data("{ sources { name } }")
    assert [s["name"] for s in mine["sources"]] == [KOMBO]


async def test_a_client_of_one_source_gets_nothing_of_another(
    guarded: GraphQLServer, everywhere: Emulator
) -> None:
    admin, kombo = guarded.with_key(ADMIN_KEY), guarded.with_key(KOMBO_KEY)
    everyone = (await admin.data(USERS))["users"]["edges"]
    absorb_user = next(e["node"] for e in everyone if e["node"]["source"] == ABSORB)

    # data: the same list, warm in the cache for every source, holds only Kombo's
    everywhere.clear_requests()
    mine = (await kombo.data(USERS))["users"]["edges"]
    assert {e["node"]["source"] for e in mine} == {KOMBO}
    assert everywhere.count() == 0, "served from the cache the admin filled"

    # IDs: another source's ID answers exactly as an unknown source's does
    unknown_id = base64.b64encode(b"User:no-such-source:42").decode()
    for field in ("node", "user"):
        query = f'{{ {field}(id: "{{id}}") {{ id }} }}'
        hidden = await kombo.post(query.replace("{id}", absorb_user["id"]))
        unknown = await kombo.post(query.replace("{id}", unknown_id))
        assert codes(hidden) == codes(unknown) == ["INVALID_ID"]
        assert hidden["errors"][0]["message"].replace(ABSORB, "?") == unknown["errors"][0][
            "message"
        ].replace("no-such-source", "?")
        assert hidden["data"] == unknown["data"] == {field: None}
    nodes = await kombo.post(f'{{ nodes(ids: ["{absorb_user["id"]}"]) {{ id }} }}')
    assert codes(nodes) == ["INVALID_ID"]

    # lists cannot select it, and the refusal names only the client's sources
    for arguments in (f'source: "{ABSORB}"', f'sources: ["{KOMBO}", "{ABSORB}"]'):
        body = await kombo.post(f"{{ users({arguments}) {{ totalCount }} }}")
        assert codes(body) == ["INVALID_ARGUMENT"]
        assert "configured: " + KOMBO in body["errors"][0]["message"]
        for other in DEMO_SOURCES.values():
            if other not in (KOMBO, ABSORB):
                assert other not in body["errors"][0]["message"]

    # people: a learner with accounts in both shows only the Kombo one
    sources_of: dict[str, set[str]] = {}
    for edge in everyone:
        node = edge["node"]
        if node["email"]:
            sources_of.setdefault(node["email"].lower(), set()).add(node["source"])
    email = next(e for e, found in sources_of.items() if {KOMBO, ABSORB} <= found)
    query = f'{{ person(email: "{email}") {{ sources users {{ source }} }} }}'
    assert (await kombo.data(query))["person"] == {"sources": [KOMBO], "users": [{"source": KOMBO}]}
    assert ABSORB in (await admin.data(query))["person"]["sources"]

    # cache counters: only its own source
    stats = await kombo.data("{ sources { name cache { hits } } }")
    assert [s["name"] for s in stats["sources"]] == [KOMBO]


async def test_introspection_can_be_turned_off(everywhere: Emulator) -> None:
    server = ServerSettings(introspection=False)
    async with run_server(demo_sources(everywhere, max_attempts=1), server=server) as running:
        for query in ("{ __schema { types { name } } }", '{ __type(name: "User") { name } }'):
            body = await running.post(query)
            assert "INTROSPECTION_DISABLED" in codes(body)
            assert body.get("data") is None  # a request error: no data entry
        assert (await running.data("{ sources { name } }"))["sources"]
        # __typename is not introspection of the schema
        assert (await running.data("{ __typename }")) == {"__typename": "Query"}


PAGE = "query($after: String) { users(first: 5, after: $after) { pageInfo { endCursor } } }"


async def _cursor(server: GraphQLServer) -> str:
    data = await server.data(PAGE)
    cursor: str = data["users"]["pageInfo"]["endCursor"]
    return cursor


async def test_cursors_follow_the_cursor_secret(
    everywhere: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    sources = demo_sources(everywhere, max_attempts=1)
    same = ServerSettings(cursor_secret=SecretStr("shared secret of the fleet"))
    other = ServerSettings(cursor_secret=SecretStr("another secret"))
    caplog.set_level(logging.WARNING, logger="lms_graph")
    async with (
        run_server(sources, server=same) as one,
        run_server(sources, server=same) as two,
        run_server(sources, server=other) as three,
    ):
        assert not [r for r in caplog.records if "cursor_secret" in r.getMessage()]
        cursor = await _cursor(one)
        assert (await two.data(PAGE, {"after": cursor}))["users"]["pageInfo"]["endCursor"]
        refused = await three.post(PAGE, {"after": cursor})
        assert codes(refused) == ["INVALID_CURSOR"]
    async with run_server(sources) as four, run_server(sources) as five:
        warnings = [r for r in caplog.records if "cursor_secret" in r.getMessage()]
        assert len(warnings) == 2  # one per start
        assert codes(await five.post(PAGE, {"after": await _cursor(four)})) == ["INVALID_CURSOR"]
        assert (await four.data(PAGE, {"after": await _cursor(four)}))["users"]


async def test_clients_new_round_trips_into_a_config(
    everywhere: Emulator, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["clients", "new", "reporting", "--sources", KOMBO]) == 0
    printed = capsys.readouterr().out
    lines = printed.splitlines()
    key = lines[1]
    assert not key.startswith("#")
    assert len(key) >= 40
    assert printed.count(key) == 1, "the key is printed once, the config holds its digest"
    table = tomllib.loads(printed[printed.index("[[clients]]") :])
    (client,) = [ClientSettings(**entry) for entry in table["clients"]]
    assert client.sources == [KOMBO]
    sources = demo_sources(everywhere, max_attempts=1)
    async with run_server(sources, clients=[client]) as running:
        data = await running.with_key(key).data("{ sources { name } }")
        assert data["sources"] == [{"name": KOMBO}]
        status, _, _ = await running.with_key(key + "x").send("{ sources { name } }")
        assert status == 401


async def test_browsers_get_cors_headers_with_keys(everywhere: Emulator) -> None:
    """A preflight carries no key, and a browser reads a 401 only with CORS headers."""
    app = "https://app.example.com"
    server = ServerSettings(cors_allow_origins=[app])
    sources = demo_sources(everywhere, max_attempts=1)
    async with run_server(sources, server=server, clients=CLIENTS) as running:
        preflight = {
            "origin": app,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type, x-lms-graph-cost",
        }
        url = running.url + "/graphql"
        async with running.session.options(url, headers=preflight) as response:
            assert response.status == 200
            assert "authorization" in response.headers["access-control-allow-headers"].lower()
        status, body, headers = await running.send(USERS, headers={"origin": app})
        assert status == 401
        assert headers["access-control-allow-origin"] == app
        assert codes(body) == ["UNAUTHENTICATED"]
        status, _, headers = await running.with_key(ADMIN_KEY).send(
            "{ sources { name } }", headers={"origin": app}
        )
        assert status == 200
        assert headers["access-control-allow-origin"] == app


async def test_graphiql_assets_load_without_a_key(everywhere: Emulator, tmp_path: Path) -> None:
    """Installed GraphiQL assets are static files the page loads: open, like the page."""
    for asset in pinned_assets():
        (tmp_path / asset.path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / asset.path).write_text("/* asset */")
    sources = demo_sources(everywhere, max_attempts=1)
    graphiql = GraphiQLSettings(assets_dir=tmp_path)
    async with run_server(sources, clients=CLIENTS, graphiql=graphiql) as running:
        path = pinned_assets()[0].path
        async with running.session.get(f"{running.url}/graphiql/{path}") as response:
            assert response.status == 200
            assert await response.text() == "/* asset */"
        async with running.session.get(f"{running.url}/graphiqlx") as response:
            assert response.status == 401  # a prefix of the path, not of the folder
