"""The server as users meet it: the CLI process, GraphiQL, /healthz and the sources query."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

from connectors.sandbox import Emulator, KomboTenant
from graph.config import DEMO_CONFIG
from tests.harness import CANONICAL_QUERY, GraphQLServer, cli_server, kombo_source, run_server

SOURCES = "{ sources { name kind health { ok code message latencyMs } } }"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_healthz_and_graphiql(server: GraphQLServer) -> None:
    async with server.session.get(server.url + "/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}
    async with server.session.get(
        server.url + "/graphql", headers={"Accept": "text/html"}
    ) as response:
        assert response.status == 200
        assert "graphiql" in (await response.text()).lower()


async def test_get_queries_work_for_cacheable_clients(server: GraphQLServer) -> None:
    params = {"query": "{ users(first: 1) { edges { node { email } } } }"}
    async with server.session.get(server.url + "/graphql", params=params) as response:
        body = await response.json()
    assert body["data"]["users"]["edges"][0]["node"]["email"].endswith("@example.com")


async def test_sources_report_health_per_source(
    emulator: Emulator, tenant: KomboTenant, second_tenant: KomboTenant
) -> None:
    broken = kombo_source("globex", emulator, second_tenant).model_copy(
        update={"integration_id": "demo:unknown"}
    )
    async with run_server([kombo_source("acme", emulator, tenant), broken]) as server:
        data = await server.data(SOURCES)
    acme, globex = data["sources"]
    assert (acme["name"], acme["kind"], acme["health"]["ok"]) == ("acme", "kombo", True)
    assert globex["health"]["ok"] is False
    assert globex["health"]["code"] == "SOURCE_AUTH_FAILED"
    assert "PLATFORM.INTEGRATION_NOT_FOUND" in globex["health"]["message"]


async def test_cli_serves_the_embedded_demo(tmp_path: Path) -> None:
    emulator_port, server_port = _free_port(), _free_port()
    config = tmp_path / "demo.toml"
    config.write_text(DEMO_CONFIG.replace("8700", str(emulator_port)), encoding="utf-8")
    async with cli_server("--config", str(config), "--port", str(server_port)) as server:
        body = await server.post(CANONICAL_QUERY, {"first": 5})
    assert "errors" not in body
    assert len(body["data"]["users"]["edges"]) == 5


async def _exit_of(*args: str) -> tuple[int | None, str]:
    """Run ``lms-graph`` with ``args`` to its end (bounded): exit code and stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "graph.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    return process.returncode, stderr.decode()


def _busy_port() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


async def test_a_busy_server_port_is_one_line_naming_it_and_the_setting() -> None:
    with _busy_port() as busy:
        port = busy.getsockname()[1]
        code, stderr = await _exit_of(
            "serve", "--port", str(port), "--emulator-port", str(_free_port())
        )
    assert code == 1
    assert stderr.splitlines() == [
        f"lms-graph: cannot listen on 127.0.0.1:{port} (address already in use); "
        "choose another port with --port"
    ]


async def test_a_busy_emulator_port_is_one_line_naming_it_and_the_setting() -> None:
    with _busy_port() as busy:
        port = busy.getsockname()[1]
        code, stderr = await _exit_of(
            "serve", "--port", str(_free_port()), "--emulator-port", str(port)
        )
    assert code == 1
    assert stderr.splitlines() == [
        f"lms-graph: cannot listen on 127.0.0.1:{port} (address already in use); "
        "choose another port with --emulator-port (or [emulator] port in the config)"
    ]


async def test_emulator_port_moves_the_demo_emulator_and_its_sources() -> None:
    emulator_port, server_port = _free_port(), _free_port()
    args = ("--port", str(server_port), "--emulator-port", str(emulator_port))
    async with cli_server(*args) as server:
        query = "{ users(first: 8) { edges { node { source } } } sources { health { ok } } }"
        body = await server.post(query)
        # The emulator itself answers on the new port (its error body: no key sent).
        async with server.session.get(f"http://127.0.0.1:{emulator_port}/kombo/v1/lms/users") as r:
            assert r.status == 401
    assert "errors" not in body, body
    assert {e["node"]["source"] for e in body["data"]["users"]["edges"]} == {
        "kombo-demo", "absorb-demo", "skilljar-demo", "stackone-demo",
    }  # fmt: skip
    assert [s["health"]["ok"] for s in body["data"]["sources"]] == [True] * 4
